# Conformance: defines neither on_request nor on_route_request, so every call is a script error.
unused = 1
