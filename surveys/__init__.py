"""Pulse surveys: builder, question library, rounds, invitations and anonymous responses."""
