package compare

import (
	"fmt"
	"html"
	"net/http"
)

// The pages of the browser experiments. They use nothing but what any
// page can: fetch, document.cookie, localStorage, forms and navigation.

// doneMark is the id of the mark on the last page of a flow.
const doneMark = "done"

// startPage loads the app's own script, then holds the injected one: an
// inline script, as an XSS puts one in a page, which a
// Content-Security-Policy of script-src 'self' blocks and app.js calls
// if it ran.
const startPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>app</title></head><body>
<div id="status">starting</div>
<script src="/app.js"></script>
<script>
window.injected = async () => {
	const storage = {};
	for (let i = 0; i < localStorage.length; i++) {
		const k = localStorage.key(i);
		storage[k] = localStorage.getItem(k);
	}
	await fetch('/report', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({cookie: document.cookie, storage})});
	const t = localStorage.getItem('access_token');
	await fetch('/whoami?by=injected', {credentials: 'same-origin', headers: t ? {Authorization: 'Bearer ' + t} : {}});
};
</script>
</body></html>
`

// appScript is the app's own script: log in, keep a token the server
// hands out in localStorage as a single-page app does, make an
// authenticated request, let the injected script run if it can, and go
// to the attacker's page (its URL is the %q).
const appScript = `(async () => {
	const status = (s) => { document.getElementById('status').textContent = s; };
	try {
		const res = await fetch('/login', {method: 'POST', credentials: 'same-origin'});
		let token = res.headers.get('Session-Token');
		if (!token && (res.headers.get('Content-Type') || '').startsWith('application/json')) {
			const j = await res.json();
			token = j.access_token;
			if (j.refresh_token) localStorage.setItem('refresh_token', j.refresh_token);
		}
		if (token) localStorage.setItem('access_token', token);
		const t = localStorage.getItem('access_token');
		await fetch('/whoami?by=app', {credentials: 'same-origin', headers: t ? {Authorization: 'Bearer ' + t} : {}});
		if (window.injected) await window.injected();
		status('logged in');
	} catch (e) {
		status('error: ' + e);
	}
	location.href = %q;
})();
`

// attackPage posts a form to the URL in its %s, as soon as it loads.
const attackPage = `<!doctype html>
<html><body>
<form id="f" method="POST" action="%s"><input type="hidden" name="amount" value="1000"></form>
<script>document.getElementById('f').submit();</script>
</body></html>
`

// page answers with an HTML page holding a mark with id and text mark,
// and script.
func page(w http.ResponseWriter, code int, mark, script string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<!doctype html>\n<html><body><div id=\"%s\">%s</div><script>%s</script></body></html>\n",
		html.EscapeString(mark), html.EscapeString(mark), script)
}
