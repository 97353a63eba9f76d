import type { ResponseItem } from './events.js';
import type { ModelInfo, ReasoningEffort, ReasoningSummary, Verbosity } from './model-info.js';
import type { Prompt } from './prompt.js';

/** The per-client defaults a body falls back to. */
export interface BodyDefaults {
  readonly model: string;
  readonly reasoningEffort: ReasoningEffort | undefined;
  readonly reasoningSummary: ReasoningSummary | undefined;
  readonly verbosity: Verbosity | undefined;
  readonly conversationId: string;
}

// Item types whose `id` Codex never serialises except for Azure (§2.2.1).
const ID_ITEM_TYPES: ReadonlySet<string> = new Set([
  'reasoning',
  'message',
  'web_search_call',
  'function_call',
  'local_shell_call',
  'custom_tool_call',
]);

/** Input items as the wire carries them: ids only for Azure, where they are non-empty (§2.2.1). */
export function prepareInput(input: readonly ResponseItem[], keepIds: boolean): ResponseItem[] {
  return input.map((item) => {
    if (!ID_ITEM_TYPES.has(item.type) || !('id' in item)) return item;
    const id = item['id'];
    if (keepIds && typeof id === 'string' && id !== '') return item;
    const { id: _dropped, ...rest } = item;
    return rest as ResponseItem;
  });
}

function reasoningFor(prompt: Prompt, info: ModelInfo, defaults: BodyDefaults): object | null {
  if (!info.supportsReasoningSummaries) return null;
  const effort = prompt.reasoningEffort ?? defaults.reasoningEffort ?? info.defaultReasoningEffort ?? undefined;
  const summary = prompt.reasoningSummary ?? defaults.reasoningSummary ?? 'auto';
  return {
    ...(effort === undefined ? {} : { effort }),
    ...(summary === 'none' ? {} : { summary }),
  };
}

function textFor(prompt: Prompt, info: ModelInfo, defaults: BodyDefaults): object | undefined {
  const verbosity = info.supportsVerbosity
    ? (prompt.verbosity ?? defaults.verbosity ?? info.defaultVerbosity ?? undefined)
    : undefined;
  const format =
    prompt.outputSchema === undefined
      ? undefined
      : { type: 'json_schema', strict: true, schema: prompt.outputSchema, name: 'codex_output_schema' };
  if (verbosity === undefined && format === undefined) return undefined;
  return { ...(verbosity === undefined ? {} : { verbosity }), ...(format === undefined ? {} : { format }) };
}

/**
 * The Responses request body, field for field and in order as spec §2.2.1 gives it. `store` is
 * true only for Azure, which also keeps the input items' ids.
 */
export function buildResponsesBody(
  prompt: Prompt,
  info: ModelInfo,
  defaults: BodyDefaults,
  azure: boolean,
): Record<string, unknown> {
  const reasoning = reasoningFor(prompt, info, defaults);
  const text = textFor(prompt, info, defaults);
  const body: Record<string, unknown> = {
    model: prompt.model ?? defaults.model,
    instructions: prompt.instructions,
  };
  if (prompt.previousResponseId !== undefined) body['previous_response_id'] = prompt.previousResponseId;
  body['input'] = prepareInput(prompt.input, azure);
  body['tools'] = prompt.tools ?? [];
  body['tool_choice'] = 'auto';
  body['parallel_tool_calls'] = prompt.parallelToolCalls ?? false;
  body['reasoning'] = reasoning;
  body['store'] = azure;
  body['stream'] = true;
  body['include'] = reasoning === null ? [] : ['reasoning.encrypted_content'];
  body['prompt_cache_key'] = defaults.conversationId;
  if (text !== undefined) body['text'] = text;
  return body;
}

/** The compact body (§2.5): `{model, input, instructions}`. */
export function buildCompactBody(prompt: Prompt, defaults: BodyDefaults): Record<string, unknown> {
  return { model: prompt.model ?? defaults.model, input: prompt.input, instructions: prompt.instructions };
}
