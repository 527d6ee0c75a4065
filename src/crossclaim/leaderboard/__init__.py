"""The leaderboard: every system on the test split and in leave-one-document-out cross-validation."""
