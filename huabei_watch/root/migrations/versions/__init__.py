"""One module per revision, oldest first. A shipped revision is never edited: add the next one."""
