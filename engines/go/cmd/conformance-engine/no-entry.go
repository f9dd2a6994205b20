package main

import "keystone.dev/engine/keystone"

// noEntry has neither OnRequest nor OnRouteRequest, so every call of it is a script error naming
// it (the engine serves it and logs a warning at start, as the other engines serve a script
// without on_request).
var noEntry = keystone.Script{}
