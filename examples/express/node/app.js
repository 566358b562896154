'use strict'

// The Express half of examples/express: the demo's login and cart routes
// on express-session, sharing every session with the Go half (main.go)
// through connect-redis, connect-pg-simple or connect-mongo.
//
//   npm ci
//   SESSION_SECRET=first,older node app.js
//
// Environment:
//   PORT                 port to listen on (default 3000; 0 picks one)
//   HOST                 address to listen on (default 127.0.0.1)
//   SESSION_SECRET       comma-separated secrets: the first signs, all verify
//   STORE                redis (default), postgres or mongo
//   REDIS_URL            for STORE=redis (default redis://127.0.0.1:6379)
//   DATABASE_URL         for STORE=postgres (default postgres://postgres@127.0.0.1:5432/test)
//   MONGO_URL            for STORE=mongo (default mongodb://127.0.0.1:27017/test)
//   SESSION_PREFIX       connect-redis's prefix (default sess:)
//   SESSION_TABLE        connect-pg-simple's tableName (default session)
//   SESSION_COLLECTION   connect-mongo's collectionName (default sessions)
//   MONGO_AUTO_REMOVE    connect-mongo's autoRemove: native (default; a TTL
//                        index), interval or disabled; FerretDB 1.x, the
//                        tests' MongoDB-wire server, has no TTL index
//
// The session settings below are the ones the Go half mirrors with
// express.WithCookie and express.WithMaxAge (see main.go); change them
// on both sides together.

const express = require('express')
const session = require('express-session')

const secrets = (process.env.SESSION_SECRET || '').split(',').filter((s) => s !== '')
if (secrets.length === 0) {
  console.error('app: SESSION_SECRET is not set (comma-separated secrets, the first signs)')
  process.exit(1)
}

async function openStore (kind) {
  switch (kind) {
    case 'redis': {
      const { createClient } = require('redis')
      const { RedisStore } = require('connect-redis')
      const client = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' })
      client.on('error', (err) => console.error('app: redis:', err.message))
      await client.connect()
      return {
        store: new RedisStore({ client, prefix: process.env.SESSION_PREFIX || 'sess:' }),
        close: () => client.quit()
      }
    }
    case 'postgres': {
      const pg = require('pg')
      const PGStore = require('connect-pg-simple')(session)
      const pool = new pg.Pool({
        connectionString: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
      })
      await pool.query('SELECT 1')
      const store = new PGStore({
        pool,
        tableName: process.env.SESSION_TABLE || 'session',
        createTableIfMissing: true
      })
      return { store, close: async () => { await store.close(); await pool.end() } }
    }
    case 'mongo': {
      const { MongoClient } = require('mongodb')
      const { MongoStore } = require('connect-mongo')
      const client = await MongoClient.connect(process.env.MONGO_URL || 'mongodb://127.0.0.1:27017/test')
      const store = MongoStore.create({
        client,
        collectionName: process.env.SESSION_COLLECTION || 'sessions',
        autoRemove: process.env.MONGO_AUTO_REMOVE || 'native'
      })
      await store.collectionP // the TTL index is made: fail now, not on the first request
      return { store, close: () => client.close() }
    }
    default:
      throw new Error(`STORE ${JSON.stringify(kind)}: want redis, postgres or mongo`)
  }
}

function text (res, code, body) {
  res.status(code).type('text/plain; charset=utf-8').send(body)
}

function page (title, body) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title></head><body>
${body}
</body></html>`
}

function escapeHTML (s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

async function main () {
  const { store, close } = await openStore(process.env.STORE || 'redis')

  const app = express()
  app.use(express.urlencoded({ extended: false }))
  app.use(session({
    name: 'connect.sid',
    secret: secrets,
    store,
    resave: false, // write only what changed: the Go side merges, Express overwrites
    saveUninitialized: false, // no record, and no cookie, for an empty session
    rolling: false,
    cookie: {
      path: '/',
      httpOnly: true,
      // secure: true behind HTTPS (and Secure on the Go side); the example serves plain HTTP
      sameSite: 'lax',
      maxAge: 24 * 60 * 60 * 1000
    }
  }))

  app.post('/login', (req, res, next) => {
    if (req.body.username !== 'admin' || req.body.password !== '123') {
      text(res, 401, 'Invalid credentials')
      return
    }
    // A new ID at login, against session fixation. regenerate starts an
    // empty session; the cart is carried over, as the Go side's Renew
    // keeps the session's values.
    const cart = req.session.cart
    req.session.regenerate((err) => {
      if (err) return next(err)
      if (cart) req.session.cart = cart
      req.session.user = 'admin'
      res.redirect(303, '/dashboard')
    })
  })

  app.get('/login', (req, res) => {
    res.type('html').send(page('Log in', `<h1>Log in</h1>
<form method="post" action="/login">
<p><label>Username <input id="username" name="username" autocomplete="username" required></label></p>
<p><label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label></p>
<p><button id="submit" type="submit">Log in</button></p>
</form>`))
  })

  app.get('/dashboard', (req, res) => {
    const user = req.session.user
    if (!user) {
      res.redirect(303, '/login')
      return
    }
    // Browsers get a page with a logout button, as from the Go half;
    // other clients the bare greeting.
    if ((req.get('Accept') || '').includes('text/html')) {
      res.type('html').send(page('Dashboard', `<h1 id="welcome">Welcome ${escapeHTML(user)}</h1>
<p><a href="/cart">Your cart</a></p>
<form method="post" action="/logout"><button id="logout">Log out</button></form>`))
      return
    }
    text(res, 200, 'Welcome ' + user)
  })

  const logout = (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err)
      res.clearCookie('connect.sid', { path: '/' })
      text(res, 200, 'Logged out')
    })
  }
  app.post('/logout', logout)
  app.get('/logout', logout)

  app.post('/add-to-cart', (req, res) => {
    const item = req.body.item
    if (!item) {
      text(res, 400, 'Missing item')
      return
    }
    req.session.cart = (req.session.cart || []).concat(item)
    text(res, 200, 'Added ' + item)
  })

  app.get('/cart', (req, res) => {
    res.json(req.session.cart || [])
  })

  const server = app.listen(Number(process.env.PORT || 3000), process.env.HOST || '127.0.0.1', () => {
    const { address, port } = server.address()
    console.log(`listening on http://${address}:${port}/ (store ${process.env.STORE || 'redis'})`)
  })
  server.on('error', (err) => {
    console.error('app:', err.message)
    process.exit(1)
  })
  const stop = () => server.close(() => Promise.resolve(close()).finally(() => process.exit(0)))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  console.error('app:', err.message)
  process.exit(1)
})
