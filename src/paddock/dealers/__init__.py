"""The dealer network: dealers, their monthly test-drive allotments, invitation campaigns,
codes and invitees, and the attribution of bookings to the dealer who invited the guest."""
