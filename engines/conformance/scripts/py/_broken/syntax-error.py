# Conformance: not served (engines read only the top directory). With --scripts-dir the suite
# copies it in to check that a reload with a syntax error is refused. The error is on line 4.
def on_request(req):
    x = = 1
