import type { Admin, Kafka } from 'kafkajs';

/** Runs `use` with an admin client of `kafka`, connected for it and disconnected after. */
export async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}
