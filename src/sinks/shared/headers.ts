import type { OutboundMessage } from '../../record.js';

/** The headers every published record carries: its Zeek path, its sender node, and any extras. */
export function messageHeaders(m: OutboundMessage): Record<string, string> {
  const headers: Record<string, string> = { 'zeek-path': m.record.path };
  if (m.record.sender !== undefined) headers['zeek-sender'] = m.record.sender;
  return m.headers ? Object.assign(headers, m.headers) : headers;
}
