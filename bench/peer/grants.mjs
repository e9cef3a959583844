// Signs in to the peer (bench/peer/server.mjs) through its own pages, once per grant, and
// prints one refresh token per line: node grants.mjs BASE COUNT SCOPE SECRET CLIENT
// (with CLIENT=bench-opaque, the last line is an access token for introspection and
// userinfo).
// The flow is a browser's: authorize, the login form, the consent form, the code at /token.
const [base, count, scope, secret, clientId = 'bench'] = process.argv.slice(2);
const basic = 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64');
const redirect = 'http://127.0.0.1:9/cb';

async function grant() {
  const jar = new Map();
  const send = async (url, body) => {
    const res = await fetch(new URL(url, base), {
      method: body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at), pair.slice(at + 1)];
      if (value && !/expires=Thu, 01 Jan 1970/i.test(c)) jar.set(name, value); else jar.delete(name);
    }
    await res.arrayBuffer();
    return res.headers.get('location');
  };
  const q = new URLSearchParams({
    client_id: clientId, response_type: 'code', scope, redirect_uri: redirect,
    prompt: 'consent', state: 'bench-state',
  });
  let at = await send(`/auth?${q}`);
  for (let step = 0; step < 8 && !at.startsWith(redirect); step += 1) {
    if (at.includes('/interaction/')) {
      const prompt = step === 0 ? 'prompt=login&login=bench' : 'prompt=consent';
      at = await send(at, prompt);
    } else {
      at = await send(at);
    }
  }
  const code = new URL(at).searchParams.get('code');
  if (!code) throw new Error(`no code: ${at}`);
  const res = await fetch(new URL('/token', base), {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect }),
  });
  const json = await res.json();
  if (!json.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(json)}`);
  return json;
}

let last;
for (let i = 0; i < Number(count); i += 1) {
  last = await grant();
  console.log(last.refresh_token);
}
if (clientId === 'bench-opaque') console.log(last.access_token);
