"""What people read: per-student feedback, the class report, the console progress line."""
