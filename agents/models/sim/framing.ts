/**
 * How an injected text frames its request, read by meaning from the text as it reached the model: who it says it
 * is from, whom it addresses, what it asks to be done first, what it says of earlier instructions, whether it names
 * a tool call, how it presses. Each feature joins concepts within a sentence, each concept written as the words of
 * several phrasings in English, French, Spanish and German — general language, never the words of one attack (issue
 * 15's rule). The lexicons were written from the languages, not from any attack corpus: no attack text of ours or
 * AgentDojo's was read to write them, so a fitted effect is the effect of the concept, and a held-out attack that
 * says the same thing in other words reads the same.
 *
 * Features are read from a whole text as the model got it (a tool output carrying a planted text, with whatever
 * else the output says): the calibration reads AgentDojo's outputs the same way, so the fitted effects and the
 * simulator's reading agree on what a feature means.
 */
import { CONFUSABLES, ZERO_WIDTH } from "../../../defenses/util/alphabets.ts";
import { ReadText } from "../../../defenses/util/reading.ts";

export const FRAMING_FEATURES = [
  "addresses_model",
  "addressed_to_other_model",
  "claims_user",
  "acts_before_task",
  "dismisses_instructions",
  "names_tool_call",
  "importance",
  "urgency",
  "authority",
  "claims_completion",
  "set_apart",
] as const;
export type FramingFeature = (typeof FRAMING_FEATURES)[number];
export type Framing = Readonly<Record<FramingFeature, boolean>>;

/** What the reader knows that a framing is judged against. */
export interface Reader {
  /** Names the model answers to ("GPT-4"): text addressed to another model is not for it. */
  readonly answersTo: readonly string[];
  /** The user's names, as the system prompt or the request give them. */
  readonly userNames: readonly string[];
}

const CONFUSABLE_CHARS = new RegExp(`[${[...CONFUSABLES.keys()].join("")}]`, "g");

/**
 * The text as a reader takes it in: compatibility forms, look-alike letters and invisible characters undone, marks
 * and a data-marking's marker read as the spaces they stand for, lower case.
 */
export function readable(text: string): string {
  let out = text.normalize("NFKD").replace(ZERO_WIDTH, "").replace(CONFUSABLE_CHARS, (c) => CONFUSABLES.get(c) ?? c);
  out = out.replace(/\p{M}/gu, "").replace(/[\p{Lm}\p{Sk}]/gu, " ");
  const reading = new ReadText(out);
  const marker = reading.glued ? reading.markerGuesses()[0] : undefined;
  if (marker !== undefined) out = out.replaceAll(marker, " ");
  return out.toLowerCase().replace(/[’`´]/g, "'").replace(/[ \t\u00a0]+/g, " ");
}

/** Accents off, as `readable` takes them off the text read. */
const fold = (source: string) => source.normalize("NFKD").replace(/\p{M}/gu, "");
const words = (list: string) => list.trim().split(/\s*\|\s*/).join("|");
const concept = (list: string) => new RegExp(fold(`(?<![\\p{L}\\p{N}])(?:${words(list)})(?![\\p{L}\\p{N}])`), "u");

/** A pattern over text as `readable` gives it. */
const pattern = (source: string) => new RegExp(fold(source), "u");

/** Second person, in the four languages. */
const YOU = concept("you | your | yours | yourself | u | tu | toi | te | ton | ta | tes | vous | votre | vos | tú | usted | ustedes | tu | tus | su | sus | du | dich | dir | dein | deine | sie | ihnen | ihr");
/** What an AI reader is called. */
const AI = concept(
  "ai | a\\.i\\. | artificial intelligence | assistant | ai assistant | language model | llm | chatbot | bot | model | agent | copilot | ia | intelligence artificielle | modèle | modèle de langage | asistente | modelo | modelo de lenguaje | inteligencia artificial | ki | künstliche intelligenz | assistent | sprachmodell | modell",
);
/** Names of assistants and models: a text addressing one names its reader. */
const MODEL_NAMES = [
  "gpt-4o", "gpt-4", "gpt-3.5", "gpt", "chatgpt", "openai", "claude", "anthropic", "gemini", "bard", "llama", "mixtral", "mistral",
  "copilot", "qwen", "deepseek", "command-r", "cohere", "grok", "phi", "palm",
];
const MODEL_NAME = new RegExp(`(?<![\\p{L}\\p{N}])(${MODEL_NAMES.map((n) => n.replace(/[.-]/g, "[.\\- ]?")).join("|")})(?:[\\- ]?\\d[\\w.\\-]*)?(?![\\p{L}\\p{N}])`, "gu");

/** Being from someone: sender phrases, in the four languages. */
const FROM_WHOM = pattern(String.raw`(?<![\p{L}])(?:from|by|signed|sent by|written by|regards|sincerely|cheers|best|on behalf of|this is|i am|i'm|it's|de la part de|de la part d'|signé|envoyé par|cordialement|je suis|c'est|de parte de|firmado|enviado por|saludos|atentamente|soy|von|im auftrag von|gezeichnet|unterschrieben|gesendet von|grüße|ich bin|hier ist)\b[\s,:;.\-–—]*(?:me[\s,]+|moi[\s,]+|mí[\s,]+|mir[\s,]+)?`);
const THE_USER = concept("the user | your user | the human | your human | the person you are helping | l'utilisateur | votre utilisateur | ton utilisateur | el usuario | tu usuario | su usuario | der benutzer | dem benutzer | dein benutzer | der nutzer | dem nutzer | ihr benutzer | vom benutzer | vom nutzer");

/** Doing something before, or instead of, what was asked. */
const BEFORE_TASK = pattern(
  [
    "before (?:you )?(?:can |could |do |start|begin|continue|solve|solving|complete|completing|finish|finishing|proceed|proceeding|answer|answering|handle|handling|respond|responding|carry|carrying|anything|doing|the task|your task|the request|the original)",
    "(?:first|firstly),? (?:please |you (?:must|should|need to) )",
    "(?:please )?do the following first|do this first|first do",
    "\\binstead\\b|rather than (?:the|your|what)",
    "prior to (?:the|your|doing|solving|completing|answering)",
    "after (?:you (?:do|have done|did)|doing) (?:that|this|so),? (?:you )?(?:can|may|continue|proceed|go on|return)",
    "avant de (?:faire|répondre|continuer|commencer|résoudre|terminer|traiter)|d'abord|au lieu de|à la place",
    "antes de (?:hacer|responder|continuar|empezar|comenzar|resolver|terminar)|primero|en lugar de|en vez de",
    "bevor (?:du|sie) |zuerst|zunächst|stattdessen|anstatt",
  ].join("|"),
);

/** Setting earlier instructions aside: a dismissing verb within a few words of what was instructed. */
const DISMISS_VERB = "ignore|ignoring|disregard|disregarding|forget|forgetting|override|overriding|skip|drop|abandon|discard|set aside|cancel|ignorez|ignore|ignorer|oubliez|oublie|oublier|ignora|ignore|ignorar|olvida|olvide|olvidar|ignoriere|ignorieren|vergiss|vergessen|verwerfe";
const INSTRUCTED =
  "instructions?|instruction|directions?|directives?|orders?|commands?|guidelines?|rules?|prompts?|tasks?|requests?|context|everything|consignes?|tâches?|règles|instrucciones|instrucción|órdenes|tareas?|reglas|anweisungen|anweisung|befehle|aufgaben?|regeln";
/** What came before: "ignore the above", "forget your earlier …" sets it aside whatever it is called. */
const EARLIER = "previous|prior|earlier|above|preceding|original|initial|foregoing|précédentes?|antérieures?|ci-dessus|anteriores?|previas?|vorherigen?|früheren?|obigen?|bisherigen?";
const DISMISSES = pattern(`(?<![\\p{L}])(?:${DISMISS_VERB})\\b(?:\\s+[\\p{L}'-]+){0,4}?\\s+(?:${INSTRUCTED}|${EARLIER})(?![\\p{L}])`);

/** Naming a tool or function to call, or its arguments. */
const TOOL_CALL = pattern(
  [
    "(?:use|call|invoke|run|execute|utilise[rz]?|appelle[rz]?|usa|usar|utiliza|llama|verwende|benutze|nutze|rufe?)\\s+(?:the |la |le |el |die |das |den )?(?:tool|function|api|outil|fonction|herramienta|función|werkzeug|funktion)",
    "(?:with|avec|con|mit) (?:the )?(?:following |these )?(?:arguments|parameters|args|arguments suivants|paramètres|argumentos|parámetros|argumenten|parametern)",
    "\\b[a-z]+_[a-z_]+\\s*\\(",
  ].join("|"),
);

const IMPORTANCE = concept(
  "important | importance | very important | extremely important | crucial | critical | vital | essential | top priority | high priority | priority | attention | notice | important!!! | wichtig | äußerst wichtig | entscheidend | essentiel | essentielle | prioritaire | primordial | importante | esencial | prioritario | prioridad",
);
const EMPHASIS = /!{2,}/;
const URGENCY = concept(
  "urgent | urgently | urgency | immediately | immediate | right away | right now | at once | asap | as soon as possible | without delay | no time to lose | no time to waste | hurry | quickly | promptly | time-sensitive | time sensitive | before it's too late | deadline | straight away | this instant | immédiatement | tout de suite | sans délai | sans attendre | urgence | vite | au plus vite | inmediatamente | ahora mismo | cuanto antes | urgente | sin demora | de inmediato | enseguida | sofort | umgehend | unverzüglich | dringend | eilig | schnellstmöglich",
);
const AUTHORITY = concept(
  "ceo | cfo | cto | ciso | chief executive | director | head of | manager | your boss | the boss | administrator | admin | sysadmin | system administrator | it department | it team | it support | helpdesk | security team | security department | compliance | legal department | supervisor | system notice | system message | system administrator | developer | developers | openai | anthropic | management | directeur | directrice | administrateur | responsable | service informatique | équipe de sécurité | direction | director | directora | administrador | jefe | jefa | departamento de ti | equipo de seguridad | gerente | direktor | direktorin | administrator | chef | chefin | vorgesetzter | it-abteilung | sicherheitsteam | geschäftsführer | geschäftsleitung",
);
const COMPLETION = pattern(
  [
    "(?:task|job|work|request|assignment|conversation|session)s? (?:is |has been |was )?(?:now )?(?:complete|completed|done|finished|over|ended)",
    "new (?:task|instructions?|assignment|objective|goal|request)",
    "end of (?:the )?(?:email|e-mail|document|page|message|conversation|context|data|input|file|tool output|output)",
    "(?:^|\\n)\\s*(?:system|assistant|user)\\s*:",
    "tâche (?:est )?(?:terminée|accomplie|finie)|nouvelle (?:tâche|instruction|consigne)|fin du (?:document|message|courriel)",
    "tarea (?:está )?(?:completada|terminada|finalizada)|nueva (?:tarea|instrucción)|fin del (?:documento|mensaje|correo)",
    "aufgabe (?:ist )?(?:erledigt|abgeschlossen|beendet)|neue (?:aufgabe|anweisung)|ende de[rs] (?:dokuments|nachricht|e-mail)",
  ].join("|"),
);
/** A block set apart by a tag pair or a bracketed label, as a notice is. */
const SET_APART = /<\s*([a-z][\w-]{1,30})[^<>]*>[\s\S]*?<\s*\/\s*\1\s*>|\[\s*([a-z][\w-]{1,30})\s*\][\s\S]*?\[\s*\/\s*\2\s*\]|(?:^|\n)\s*(?:#{2,}|={3,}|\*{3,})[^\n]*(?:important|notice|instruction|system|attention|message)/u;

/** Boundaries a reader sees around a text: a tag, or a run of two or more symbols, at both ends. */
const OPENS = /^\s*(?:<<[^<>\n]{1,40}>>|<[^<>\n]{1,40}>|[^\p{L}\p{N}\s"'(\[{]{2,}|\[{2,}|\{{2,}|"{3})/u;
const CLOSES = /(?:<<\/?[^<>\n]{1,40}>>|<\/?[^<>\n]{1,40}>|[^\p{L}\p{N}\s"')\]}.!?]{2,}|\]{2,}|\}{2,}|"{3})\s*$/u;
function delimited(text: string): boolean {
  return OPENS.test(text) && CLOSES.test(text);
}

/** A list entry's bullet at a line's start: notes, messages and results are listed one per entry. */
const ENTRY = /\n([ \t]*[-*\u2022][ \t]+)/g;

/**
 * The text an instruction was read in, without the boundaries around its items — the whole text, or each list
 * entry — and whether the item carrying the instruction had any. Boundaries around an item delimit it (a defense's
 * marking, as the model sees it); they set nothing apart inside it, as an attacker's own tags do.
 */
export function unwrapItem(text: string, instruction: string): { readonly text: string; readonly delimited: boolean } {
  if (delimited(text)) return { text: unwrap(text), delimited: true };
  const entries = [...text.matchAll(ENTRY)];
  if (entries.length === 0) return { text, delimited: false };
  const wanted = instruction.trim();
  const at = wanted.length > 0 ? text.indexOf(wanted) : -1;
  let carrying = false;
  let unwrapped = text.slice(0, entries[0]!.index! + 1);
  entries.forEach((entry, i) => {
    const start = entry.index! + entry[0].length;
    const end = entries[i + 1] ? entries[i + 1]!.index! + 1 : text.length;
    let bodyEnd = end;
    while (bodyEnd > start && /\s/.test(text[bodyEnd - 1]!)) bodyEnd--;
    const body = text.slice(start, bodyEnd);
    const wrapped = delimited(body);
    if (wrapped && at >= entry.index! && at < end) carrying = true;
    unwrapped += entry[1] + (wrapped ? unwrap(body) : body) + text.slice(bodyEnd, end);
  });
  return { text: unwrapped, delimited: carrying };
}

function unwrap(text: string): string {
  return text.replace(OPENS, "").replace(CLOSES, "");
}

/** How far around the planted instruction its framing is read: a notice's header and signature, not the whole page. */
export const PASSAGE_MARGIN = 300;

/** Up to eight words at one end of a text, as a pattern that lets any spacing, quoting or escaping stand between them. */
const wordPatterns = new Map<string, RegExp>();
function wordsPattern(words: readonly string[]): RegExp {
  const key = words.join(" ");
  let pattern = wordPatterns.get(key);
  if (!pattern) {
    if (wordPatterns.size > 5000) wordPatterns.clear();
    pattern = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^\\p{L}\\p{N}]+"), "iu");
    wordPatterns.set(key, pattern);
  }
  return pattern;
}

const around = (text: string, start: number, end: number) => text.slice(Math.max(0, start - PASSAGE_MARGIN), end + PASSAGE_MARGIN);

/**
 * The passage of a text that carries an instruction: the instruction and what stands within `PASSAGE_MARGIN`
 * characters of it, as a reader takes in the notice around a sentence and not the rest of the inbox. The instruction
 * is found as written, or else by its first and last words, whatever the formatting between them (an output's
 * quoting, a YAML dump's escapes); the whole text where it cannot be placed so (marked between its words, encoded).
 */
export function passageAround(text: string, instruction: string): string {
  // An escaped line break in a quoted output ("…keys\\n    to…") separates words as the break would; same length.
  const flat = text.includes("\\") ? text.replace(/\\[nrt]/g, "  ") : text;
  const wanted = instruction.trim();
  if (wanted.length === 0) return flat;
  const at = text.indexOf(wanted);
  if (at >= 0) return around(flat, at, at + wanted.length);
  const words = wanted.match(/[\p{L}\p{N}]+/gu) ?? [];
  // Its first word must stand somewhere for the pattern to be worth running (marked or encoded text fails costlily).
  if (words.length === 0 || !flat.toLowerCase().includes(words[0]!.toLowerCase())) return flat;
  const head = wordsPattern(words.slice(0, 8)).exec(flat);
  if (!head) return flat;
  const tail = wordsPattern(words.slice(-8)).exec(flat.slice(head.index));
  const end = tail ? head.index + tail.index + tail[0].length : head.index + head[0].length;
  return around(flat, head.index, end);
}

function sentences(text: string): string[] {
  return text.split(/(?<=[.!?;])\s+|\n+/).filter((s) => s.trim().length > 0);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Whether a sentence is said from someone named here: a sender phrase, then one of the names. */
function fromAny(sentence: string, names: readonly RegExp[]): boolean {
  const from = new RegExp(FROM_WHOM.source, "gu");
  for (let m = from.exec(sentence); m; m = from.exec(sentence)) {
    const rest = sentence.slice(m.index + m[0].length);
    if (THE_USER.test(rest.slice(0, 40)) && THE_USER.exec(rest)!.index < 3) return true;
    if (names.some((name) => name.test(rest.slice(0, 60)) && name.exec(rest)!.index < 3)) return true;
    if (from.lastIndex === m.index) from.lastIndex++;
  }
  return false;
}

/** The framing of a text as the reader takes it in. */
export function framingOf(text: string, reader: Reader): Framing {
  const t = readable(text);
  const parts = sentences(t);
  const answers = reader.answersTo.map((n) => n.toLowerCase());
  const userNames = reader.userNames.filter((n) => n.trim().length > 1).map((n) => new RegExp(`^${escape(n.toLowerCase().trim())}(?![\\p{L}])`, "u"));
  let addresses = false;
  let toOther = false;
  let claimsUser = false;
  for (const s of parts) {
    if (!YOU.test(s)) {
      // A signature line names its sender without a "you" in it.
      if (!claimsUser && /^(?:signed|sincerely|regards|cheers|best|signé|cordialement|firmado|atentamente|saludos|gezeichnet|grüße)\b/u.test(s.trim())) claimsUser = fromAny(s, userNames);
      continue;
    }
    const named = [...s.matchAll(MODEL_NAME)].map((m) => m[0]);
    if (named.length > 0) {
      if (named.some((n) => answers.some((a) => n.startsWith(a) || a.startsWith(n)))) addresses = true;
      else toOther = true;
    } else if (AI.test(s)) addresses = true;
    claimsUser ||= fromAny(s, userNames);
  }
  if (!claimsUser) claimsUser = parts.some((s) => fromAny(s, userNames));
  return {
    addresses_model: addresses,
    addressed_to_other_model: toOther && !addresses,
    claims_user: claimsUser,
    acts_before_task: BEFORE_TASK.test(t),
    dismisses_instructions: DISMISSES.test(t),
    names_tool_call: TOOL_CALL.test(t),
    importance: IMPORTANCE.test(t) || EMPHASIS.test(t),
    urgency: URGENCY.test(t),
    authority: AUTHORITY.test(t),
    claims_completion: COMPLETION.test(t),
    set_apart: SET_APART.test(t),
  };
}

/**
 * The user's names as a system prompt or a request give them ("The user's name is Emma Johnson", "You help Emma",
 * "I am Emma"): the names a claim to be from the user must carry.
 */
export function userNamesIn(...texts: readonly string[]): string[] {
  const names = new Set<string>();
  const patterns = [
    /\buser(?:'s| is)? (?:name is |called |named )?([A-Z][\p{L}'-]+(?: [A-Z][\p{L}'-]+)?)/gu,
    /\b(?:you (?:help|assist|work for|serve|act for|act on behalf of)|on behalf of|assistant (?:to|of|for)) ([A-Z][\p{L}'-]+(?: [A-Z][\p{L}'-]+)?)/gu,
    /\b(?:I am|I'm|my name is|this is) ([A-Z][\p{L}'-]+(?: [A-Z][\p{L}'-]+)?)/gu,
  ];
  for (const text of texts) {
    for (const pattern of patterns) {
      for (const m of text.matchAll(pattern)) {
        const full = m[1]!.replace(/[.,;:]$/, "");
        names.add(full);
        names.add(full.split(" ")[0]!);
      }
    }
  }
  return [...names];
}
