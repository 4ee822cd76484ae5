/**
 * Example pipeline with plain RxJS operators: page views from crawlers are dropped (`filter`),
 * the rest are reduced to what analytics needs (`map`: host and path, no query string, which
 * may carry personal data) and written to the output topic keyed by user.
 *
 * A dropped view is still processed: its offset is committed like any other. A view whose URL
 * does not parse makes `map` throw, which sends it to the DLQ as a process failure.
 */
import { filter, map, pipe } from 'rxjs';
import { decodeJson, definePipeline, process, validate, type Delivery } from '../../lib/index.js';

/** A page view as the web tier publishes it. */
export interface PageView {
  url: string;
  userAgent: string;
  userId?: string;
  /** ISO 8601 time of the view. */
  at: string;
}

/** What the analytics topic receives. */
export interface PageViewRecord {
  host: string;
  path: string;
  user: string | null;
  at: string;
}

/** Where records go when OUTPUT_TOPIC is not set. */
export const DEFAULT_OUTPUT_TOPIC = 'pageviews-clean';

const pageViewSchema = {
  type: 'object',
  required: ['url', 'userAgent', 'at'],
  properties: {
    url: { type: 'string', pattern: '^https?://' },
    userAgent: { type: 'string' },
    userId: { type: 'string' },
    at: { type: 'string' },
  },
};

const CRAWLER = /bot|crawler|spider|headless/i;

/** Whether a view comes from a crawler rather than a person. */
export function isCrawler(view: PageView): boolean {
  return CRAWLER.test(view.userAgent);
}

/** The analytics record of a view; throws a TypeError for a URL that does not parse. */
export function toRecord(view: PageView): PageViewRecord {
  const url = new URL(view.url);
  return { host: url.host, path: url.pathname, user: view.userId ?? null, at: view.at };
}

export default definePipeline((ctx) =>
  pipe(
    decodeJson(),
    validate<PageView>(pageViewSchema),
    filter((delivery) => !isCrawler(delivery.event)),
    map((delivery): Delivery<PageViewRecord> => ({ ...delivery, event: toRecord(delivery.event) })),
    process(
      async (record: PageViewRecord) => {
        await ctx.produce(ctx.outputTopic ?? DEFAULT_OUTPUT_TOPIC, {
          key: record.user,
          value: JSON.stringify(record),
        });
      },
      { retry: ctx.retry },
    ),
  ),
);
