//! (filled in by its issue-17 change)
