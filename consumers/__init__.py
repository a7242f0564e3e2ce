"""huabei-watch consumers: Kafka consumer groups that turn signals into incidents, toggles and messages."""
