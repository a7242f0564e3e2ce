"""Payment results: diagnosis of failures, windowed anomaly detection, signed ingestion."""
