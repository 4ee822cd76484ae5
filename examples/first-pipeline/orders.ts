import { pipe } from 'rxjs';
import {
  decodeJson,
  definePipeline,
  enrich,
  filterEvents,
  PermanentError,
  routeTo,
  validate,
} from 'myeventstream';

export interface Order {
  id: string;
  customerId: string;
  amount: number;
}

export interface Customer {
  id: string;
  tier: 'standard' | 'gold';
}

/** Looks a customer up; the spec passes a stub instead of the HTTP call. */
export type FindCustomer = (id: string, signal: AbortSignal) => Promise<Customer>;

export async function fetchCustomer(id: string, signal: AbortSignal): Promise<Customer> {
  const base = process.env.CUSTOMERS_URL ?? 'http://localhost:8081';
  // An unreachable service (ECONNREFUSED, ETIMEDOUT...) is retried with backoff.
  const res = await fetch(`${base}/customers/${encodeURIComponent(id)}`, { signal });
  if (res.status === 404) throw new PermanentError(`unknown customer ${id}`); // DLQ at once
  if (!res.ok) throw new Error(`customers answered ${res.status}`); // retried with backoff
  return (await res.json()) as Customer;
}

export function ordersPipeline(findCustomer: FindCustomer = fetchCustomer) {
  return definePipeline((ctx) =>
    pipe(
      decodeJson<Order>(), // bad bytes or JSON → DLQ (decode), never retried
      validate<Order>(ctx.schema), // EVENT_SCHEMA → DLQ (validate) with the schema errors
      filterEvents<Order>((o) => o.amount > 0), // dropped messages still settle and commit
      enrich(
        (o: Order, delivery) => findCustomer(o.customerId, delivery.signal),
        (o, customer) => ({ ...o, customer }),
        { retry: ctx.retry }, // RETRY_* settings
      ),
      // Writes the message as it came (key, value, headers) to the topic chosen per event.
      routeTo((o) => (o.customer.tier === 'gold' ? 'orders-priority' : 'orders-standard'), ctx),
    ),
  );
}

export default ordersPipeline();
