/**
 * Example pipeline: orders are checked against `order.schema.json`, enriched with their
 * customer from an HTTP service, and written to the output topic as JSON.
 *
 * - An order the schema rejects goes to the DLQ at once (SCHEMA_VIOLATION) and costs no call.
 * - A customer that does not exist (404) can never succeed: PermanentError, straight to the DLQ.
 * - An unavailable customer service (5xx, 429, network failure) is retried with the service's
 *   backoff (RETRY_*), and the message is dead-lettered once the retries run out.
 * - The lookup and the write are two `process` steps, so a failed write is retried on its own,
 *   without calling the customer service again.
 *
 * The HTTP call is injected (`httpGet`, default the global fetch) so specs can stub it.
 */
import { readFileSync } from 'node:fs';
import { env } from 'node:process';
import { pipe } from 'rxjs';
import {
  decodeJson,
  definePipeline,
  PermanentError,
  process,
  validate,
  type Delivery,
  type Pipeline,
} from '../../lib/index.js';

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/** An order as `order.schema.json` describes it. */
export interface Order {
  orderId: string;
  customerId: string;
  currency: 'EUR' | 'USD' | 'GBP';
  items: OrderItem[];
}

/** What the customer service answers for `GET /customers/{id}`. */
export interface Customer {
  id: string;
  name: string;
  tier: 'standard' | 'gold';
}

/** The order as written to the output topic. */
export interface EnrichedOrder extends Order {
  customer: Customer;
  /** Sum of quantity × unit price, rounded to cents. */
  total: number;
}

/** The part of `fetch` the pipeline uses. */
export type HttpGet = (
  url: string,
  init: { signal: AbortSignal; headers: Record<string, string> },
) => Promise<{ status: number; json(): Promise<unknown> }>;

export interface OrderPipelineOptions {
  /** Base URL of the customer service, e.g. `http://customers:8080`. */
  customersUrl: string;
  /** Default the global `fetch`. */
  httpGet?: HttpGet;
}

/** Where orders go when OUTPUT_TOPIC is not set. */
export const DEFAULT_OUTPUT_TOPIC = 'orders-enriched';

/** The schema of the orders topic, read once when the module loads. */
export const orderSchema = JSON.parse(
  readFileSync(new URL('./order.schema.json', import.meta.url), 'utf8'),
) as object;

/**
 * Looks a customer up. Throws a PermanentError when retrying cannot help (404, other 4xx), and
 * a plain Error when it may (5xx, 429, the service unreachable).
 */
export async function fetchCustomer(
  httpGet: HttpGet,
  customersUrl: string,
  customerId: string,
  signal: AbortSignal,
): Promise<Customer> {
  let response: Awaited<ReturnType<HttpGet>>;
  try {
    response = await httpGet(`${customersUrl}/customers/${encodeURIComponent(customerId)}`, {
      signal,
      headers: { accept: 'application/json' },
    });
  } catch (error) {
    // The service retries fetch's own network failures; an injected httpGet may throw other
    // errors for an unreachable host (a TypeError would count as a bug): say it is transient.
    throw new Error(`customer service unreachable: ${String(error)}`, { cause: error });
  }
  if (response.status === 404) throw new PermanentError(`customer ${customerId} does not exist`);
  if (response.status === 429 || response.status >= 500) {
    throw new Error(`customer service answered ${response.status}`);
  }
  if (response.status !== 200) {
    throw new PermanentError(`customer service refused customer ${customerId}: ${response.status}`);
  }
  return (await response.json()) as Customer;
}

/** Sum of quantity × unit price, in cents then back, so 0.1 + 0.2 stays 0.3. */
export function orderTotal(order: Order): number {
  const cents = order.items.reduce((sum, item) => sum + Math.round(item.unitPrice * 100) * item.quantity, 0);
  return cents / 100;
}

/** The orders pipeline with its dependencies. */
export function orderPipeline(options: OrderPipelineOptions): Pipeline {
  const { customersUrl, httpGet = fetch } = options;
  return definePipeline((ctx) => {
    const outputTopic = ctx.outputTopic ?? DEFAULT_OUTPUT_TOPIC;
    return pipe(
      decodeJson(),
      validate<Order>(orderSchema),
      process(
        async (order: Order, delivery: Delivery<Order>): Promise<EnrichedOrder> => ({
          ...order,
          customer: await fetchCustomer(httpGet, customersUrl, order.customerId, delivery.signal),
          total: orderTotal(order),
        }),
        { retry: ctx.retry },
      ),
      process(
        async (order: EnrichedOrder, delivery: Delivery<EnrichedOrder>) => {
          await ctx.produce(outputTopic, {
            key: order.orderId,
            value: JSON.stringify(order),
            headers: {
              ...delivery.headers,
              source_topic: delivery.topic,
              source_partition: String(delivery.partition),
              source_offset: delivery.offset,
            },
          });
        },
        { retry: ctx.retry },
      ),
    );
  });
}

/** The module's pipeline for PIPELINE; CUSTOMERS_URL names the customer service. */
export default orderPipeline({ customersUrl: env.CUSTOMERS_URL ?? 'http://customers:8080' });
