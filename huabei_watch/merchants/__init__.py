"""The merchant registry: the value object (:mod:`.model`, pure) and its table (:mod:`.registry`)."""
