"""The dealer network: dealers, their monthly test-drive allotments, invitation campaigns, codes
and invitees, and the attribution of bookings to the dealer who invited the guest.

Use cases by module, behind the `service` facade: directory (dealers, places), campaigns
(campaigns, codes, invitees), invitations (a code looked up, booked, or confirming a hold),
reports (attributed bookings, CSV), allotments and engagements (the monthly places as capacity).
Routes: `api.py` (dealers, places), `campaigns_api.py`, `invitations_api.py` (public), with
`reads.py` building their answers. A new use case goes in its aggregate's module, writing
through `paddock.unit_of_work`.
"""
