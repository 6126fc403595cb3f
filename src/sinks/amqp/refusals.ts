// What RabbitMQ means when it closes a channel because of a publish: which exchange or size it
// refused, read from the close frame's code and text (the frame names no delivery tag).

/** basic.publish: class 60, method 40. */
const BASIC_PUBLISH = { classId: 60, methodId: 40 };

export interface PublishRefusal {
  /** 404 NOT_FOUND, 403 ACCESS_REFUSED or 406 PRECONDITION_FAILED. */
  readonly code: 404 | 403 | 406;
  /** The exchange the refusal names (404: missing; 403: not writable for this user). */
  readonly exchange?: string | undefined;
  /** 406 for a message over the broker's max_message_size: that size in bytes. */
  readonly maxMessageBytes?: number | undefined;
  /** The broker's text, for the log. */
  readonly text: string;
}

interface ChannelError {
  message?: string;
  code?: unknown;
  classId?: unknown;
  methodId?: unknown;
}

const EXCHANGE = /exchange '(.*?)' in vhost '/;
const MAX_SIZE = /message size \d+ is larger than (?:configured )?max size (\d+)/;

/** The refusal an amqplib channel 'error' reports, if the broker closed the channel over a publish. */
export function publishRefusal(err: ChannelError): PublishRefusal | undefined {
  const code = err.code;
  if (code !== 404 && code !== 403 && code !== 406) return undefined;
  if (err.classId !== BASIC_PUBLISH.classId || err.methodId !== BASIC_PUBLISH.methodId) return undefined;
  const text = err.message ?? '';
  const exchange = code === 406 ? undefined : EXCHANGE.exec(text)?.[1];
  const size = code === 406 ? MAX_SIZE.exec(text)?.[1] : undefined;
  return { code, exchange, maxMessageBytes: size === undefined ? undefined : Number(size), text };
}
