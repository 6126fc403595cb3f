/**
 * Destination names as templates over the log path, e.g. `zeek.{path}` or `zeek-{path}`.
 * Variables: {path} (the log path used for routing, filter suffix stripped when that
 * option is on) and {rawPath} (the path exactly as received). Templates are resolved
 * once per path and cached by the routing table, so they cost nothing per record.
 */
export const TEMPLATE_VARIABLES = ['path', 'rawPath'] as const;
export type TemplateVars = Record<(typeof TEMPLATE_VARIABLES)[number], string>;

const VAR = /\{([A-Za-z]+)\}/g;

/** Returns the names of unknown variables in a template (empty when valid). */
export function unknownTemplateVariables(template: string): string[] {
  const bad: string[] = [];
  for (const m of template.matchAll(VAR)) {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(m[1] as string)) bad.push(m[1] as string);
  }
  return bad;
}

export function renderTemplate(template: string, vars: TemplateVars): string {
  return template.replace(VAR, (_, name: string) => vars[name as keyof TemplateVars] ?? '');
}
