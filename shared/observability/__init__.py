"""What the people who run the system see: Prometheus metrics, JSON logs without secrets,
OpenTelemetry traces from the gateway through Kafka to the consumers' writes."""
