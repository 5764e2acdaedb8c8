-- Gives the session back its default lock_timeout after a migration that ran outside a transaction.
RESET lock_timeout;
