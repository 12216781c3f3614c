"""E-mail to guests and staff: an outbox written in the transaction of the change (a trigger on
the booking's audit entries, or `messages.enqueue` for the rest), rendered at send time from
templates/mail/ and sent over SMTP with retries (`sender.py`). See `models.py`."""
