import type { HrTime, SpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** A span context as data: its trace state serialised. */
interface PlainContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
  readonly traceState?: string;
}

/** A finished span as data that crosses threads (a ReadableSpan has methods and class instances). */
export interface PlainSpan extends Omit<ReadableSpan, 'spanContext' | 'parentSpanContext' | 'resource' | 'links'> {
  readonly context: PlainContext;
  readonly parent: PlainContext | undefined;
  readonly resourceAttributes: ReadableSpan['resource']['attributes'];
  readonly links: { readonly context: PlainContext; readonly attributes?: ReadableSpan['links'][number]['attributes'] }[];
}

function plainContext(context: SpanContext): PlainContext {
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    ...(context.isRemote === undefined ? {} : { isRemote: context.isRemote }),
    ...(context.traceState === undefined ? {} : { traceState: context.traceState.serialize() }),
  };
}

function spanContext(plain: PlainContext): SpanContext {
  return { ...plain, ...(plain.traceState === undefined ? {} : { traceState: new TraceState(plain.traceState) }) } as SpanContext;
}

/** The span as data (the telemetry thread forwards spans a test's exporter reads on the relay's thread). */
export function plainSpan(span: ReadableSpan): PlainSpan {
  return {
    name: span.name,
    kind: span.kind,
    context: plainContext(span.spanContext()),
    parent: span.parentSpanContext === undefined ? undefined : plainContext(span.parentSpanContext),
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    status: span.status,
    attributes: span.attributes,
    links: span.links.map((link) => ({ context: plainContext(link.context), ...(link.attributes ? { attributes: link.attributes } : {}) })),
    events: span.events,
    ended: span.ended,
    resourceAttributes: span.resource.attributes,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** A ReadableSpan again, from its data. */
export function readableSpan(plain: PlainSpan): ReadableSpan {
  const context = spanContext(plain.context);
  const { context: _c, parent, resourceAttributes, links, ...rest } = plain;
  return {
    ...rest,
    startTime: plain.startTime as HrTime,
    spanContext: () => context,
    ...(parent === undefined ? {} : { parentSpanContext: spanContext(parent) }),
    resource: resourceFromAttributes(resourceAttributes),
    links: links.map((link) => ({ context: spanContext(link.context), ...(link.attributes ? { attributes: link.attributes } : {}) })),
  } as ReadableSpan;
}
