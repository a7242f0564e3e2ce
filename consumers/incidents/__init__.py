"""The incidents consumer: signals in, whole incidents out."""
