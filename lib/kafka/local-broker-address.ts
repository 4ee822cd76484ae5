/**
 * Where the developer's local broker listens (`npm start` without KAFKA_BROKERS starts it), so
 * the CLI can talk to it without loading the code that starts one.
 */
export const LOCAL_BROKER_PORT = 9092;
export const LOCAL_BOOTSTRAP = `127.0.0.1:${LOCAL_BROKER_PORT}`;
