# Geo allow-list (catalog entry geo-allowlist): the country comes from HEADER, set by the CDN or
# edge in front of the gateway (the gateway has no address database). MODE allow lets only
# COUNTRIES through; deny lets all others through. Codes compare with ASCII letters upper-cased
# (as Lua's string.upper: never by a locale's rules).
_ASCII_UPPER = str.maketrans('abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')


def on_request(req):
    p = req.params
    country = req.headers[p['header']]
    if country is None or country == '':
        if p['missing'] == 'allow':
            return
        return reject(p['status'], 'country unknown')
    found = country.translate(_ASCII_UPPER) in p['countries']
    if found == (p['mode'] == 'allow'):
        return
    return reject(p['status'], 'not available in your country')
