"""Who is signed in and what they may do: users with roles, web sessions, dealer API tokens."""
