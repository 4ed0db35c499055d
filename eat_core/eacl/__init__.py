"""EACL corpus (EAT §3.2)."""
