"""Accounts, roles and the access policy (today: the visibility rule for anonymous readers)."""
