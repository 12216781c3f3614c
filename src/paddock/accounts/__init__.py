"""Who is signed in and what they may do: users with roles, web sessions, dealer API tokens.

`access.py` holds the rules every route and page declares (and the list of public routes);
`principals.py` says who is calling; `signin.py` the throttled sign-in; `service.py` users,
sessions and tokens. A new route names its rule here, or the app will not start.
"""
