/**
 * A small client for the real Open WebUI's HTTP API, as its web UI uses it: what the real-app tests
 * seed an instance with and check it by (never by looking into its database). Request shapes that
 * changed between versions are sent in both spellings (the server ignores fields it does not know).
 */
export class OpenWebUi {
  constructor(readonly base: string) {}

  private async call<T>(method: string, path: string, token: string | undefined, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: FormData | string | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, ...(payload ? { body: payload } : {}), signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    return (res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text()) as T;
  }

  async health(): Promise<boolean> {
    try {
      return (await fetch(`${this.base}/health`, { signal: AbortSignal.timeout(3000) })).ok;
    } catch {
      return false;
    }
  }

  async waitHealthy(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.health()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`Open WebUI at ${this.base} did not answer /health within ${timeoutMs / 1000}s`);
  }

  /** The first signup becomes the admin. Returns the session token. */
  async signup(name: string, email: string, password: string): Promise<string> {
    return (await this.call<{ token: string }>("POST", "/api/v1/auths/signup", undefined, { name, email, password })).token;
  }

  async signin(email: string, password: string): Promise<string> {
    return (await this.call<{ token: string }>("POST", "/api/v1/auths/signin", undefined, { email, password })).token;
  }

  /** Who a token belongs to: a token issued before a restore must still work after it (the secret key came back). */
  async me(token: string): Promise<{ id: string; email: string; role: string }> {
    return this.call("GET", "/api/v1/auths/", token);
  }

  async addUser(admin: string, user: { name: string; email: string; password: string; role?: string }): Promise<{ id: string }> {
    return this.call("POST", "/api/v1/auths/add", admin, { role: "user", ...user });
  }

  /** A chat with its messages in the shape the web UI stores: a list and a history tree. */
  async newChat(token: string, title: string, turns: [string, string][]): Promise<{ id: string }> {
    return this.call("POST", "/api/v1/chats/new", token, { chat: chatBody(title, turns) });
  }

  async updateChat(token: string, id: string, title: string, turns: [string, string][]): Promise<{ id: string }> {
    return this.call("POST", `/api/v1/chats/${id}`, token, { chat: chatBody(title, turns) });
  }

  async chat(token: string, id: string): Promise<{ id: string; title: string; chat: { messages: { content: string }[] } }> {
    return this.call("GET", `/api/v1/chats/${id}`, token);
  }

  /** Every chat id of the user, page by page. */
  async chatIds(token: string): Promise<string[]> {
    const ids: string[] = [];
    for (let page = 1; ; page++) {
      const batch = await this.call<{ id: string }[]>("GET", `/api/v1/chats/list?page=${page}`, token);
      ids.push(...batch.map((c) => c.id));
      if (batch.length === 0) return ids;
    }
  }

  async uploadFile(token: string, name: string, bytes: Buffer, type: string, process = false): Promise<{ id: string }> {
    const form = new FormData();
    form.append("file", new Blob([bytes], { type }), name);
    return this.call("POST", `/api/v1/files/?process=${process}`, token, form);
  }

  /** Uploads are processed (text extracted, embedded) in the background: until then a knowledge base refuses them. */
  async waitProcessed(token: string, id: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { status } = await this.call<{ status?: string }>("GET", `/api/v1/files/${id}/process/status`, token);
      if (status === "completed") return;
      if (status === "failed") throw new Error(`file ${id} failed processing`);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`file ${id} was not processed within ${timeoutMs / 1000}s`);
  }

  async fileContent(token: string, id: string): Promise<Buffer> {
    const res = await fetch(`${this.base}/api/v1/files/${id}/content`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`GET file ${id}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  async createKnowledge(token: string, name: string): Promise<{ id: string }> {
    return this.call("POST", "/api/v1/knowledge/create", token, { name, description: `${name} (owui-backup test)` });
  }

  async addToKnowledge(token: string, knowledge: string, file: string): Promise<unknown> {
    return this.call("POST", `/api/v1/knowledge/${knowledge}/file/add`, token, { file_id: file });
  }

  async knowledge(token: string, id: string): Promise<{ id: string; name: string; files?: { id: string }[] }> {
    return this.call("GET", `/api/v1/knowledge/${id}`, token);
  }

  /** Names of the documents a knowledge query returns, best first. */
  async queryKnowledge(token: string, knowledge: string, query: string): Promise<string[]> {
    const result = await this.call<{ metadatas?: { name?: string; source?: string }[][] }>("POST", "/api/v1/retrieval/query/collection", token, {
      collection_names: [knowledge],
      query,
      k: 3,
    });
    return (result.metadatas?.[0] ?? []).map((m) => m.name ?? m.source ?? "");
  }

  async adminConfig(admin: string): Promise<Record<string, unknown>> {
    return this.call("GET", "/api/v1/auths/admin/config", admin);
  }

  async setAdminConfig(admin: string, config: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.call("POST", "/api/v1/auths/admin/config", admin, config);
  }

  async createPrompt(token: string, command: string, title: string, content: string): Promise<unknown> {
    // `title` until 0.7, `name` after.
    return this.call("POST", "/api/v1/prompts/create", token, { command, title, name: title, content });
  }

  async prompts(token: string): Promise<{ command: string; content: string }[]> {
    return this.call("GET", "/api/v1/prompts/", token);
  }
}

function chatBody(title: string, turns: [string, string][]) {
  const messages: Record<string, unknown>[] = [];
  let parent: string | null = null;
  for (const [i, [question, answer]] of turns.entries()) {
    const q = { id: `q${i}`, parentId: parent, childrenIds: [`a${i}`], role: "user", content: question, timestamp: 1_700_000_000 + i };
    const a = { id: `a${i}`, parentId: `q${i}`, childrenIds: i + 1 < turns.length ? [`q${i + 1}`] : [], role: "assistant", content: answer, timestamp: 1_700_000_000 + i };
    messages.push(q, a);
    parent = `a${i}`;
  }
  return {
    title,
    models: ["test-model"],
    messages,
    history: { messages: Object.fromEntries(messages.map((m) => [m.id as string, m])), currentId: parent },
  };
}
