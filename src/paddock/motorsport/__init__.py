"""Customer racing: calendars, support standard and the pure support-capacity decision engine."""
