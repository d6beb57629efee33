const YAML = require('yaml'); const fs=require('fs');
const { OpenAPIBackend } = require('openapi-backend');
const addFormats = require('ajv-formats');
(async () => {
const doc = YAML.parse(fs.readFileSync('/work/shared/digitalocean-openapi/digitalocean-public.v2.bundled.yaml','utf8'));
const api = new OpenAPIBackend({ definition: doc, quick: true, validate: true, ajvOpts: { strict: false, unicodeRegExp: false, allErrors: true },
  customizeAjv: (ajv) => { addFormats.default(ajv); ajv.addFormat('uint32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff }); return ajv; } });
await api.init();
const op = api.router.matchOperation({ method: 'get', path: '/v2/droplets/123', headers: {} });
let r = api.validator.validateResponseHeaders({ 'ratelimit-limit': '5000', 'ratelimit-remaining':'4999','ratelimit-reset':'123', 'content-type':'application/json' }, op, {statusCode:200});
console.log('hdr', r.valid, r.errors);
r = api.validator.validateResponseHeaders({ 'ratelimit-limit': 'abc'}, op, {statusCode:200});
console.log('hdr-bad', r.valid, JSON.stringify(r.errors));
r = api.validator.validateResponseHeaders({ }, op, {statusCode:200});
console.log('hdr-missing', r.valid, JSON.stringify(r.errors));
console.log(JSON.stringify(op.responses['200'].headers).slice(0,600));
r = api.validator.validateRequest({ method: 'get', path: '/v2/droplets/123', headers: {} }, op); console.log('path', r.valid, r.errors);
r = api.validator.validateRequest({ method: 'get', path: '/v2/droplets/abc', headers: {} }, op); console.log('path bad', r.valid, r.errors);
const lop = api.router.matchOperation({ method: 'get', path: '/v2/droplets', headers: {} });
r = api.validator.validateRequest({ method: 'get', path: '/v2/droplets', query: 'page=2&per_page=3&tag_name=x', headers: {} }, lop); console.log('q', r.valid, r.errors);
r = api.validator.validateRequest({ method: 'get', path: '/v2/droplets', query: {page:'2'}, headers: {} }, lop); console.log('q obj', r.valid, r.errors);
// 204 response
const dop = api.router.matchOperation({ method: 'delete', path: '/v2/droplets/1', headers: {} });
r = api.validator.validateResponse(undefined, dop, 204); console.log('204', r.valid, r.errors);
r = api.validator.validateResponse({a:1}, dop, 204); console.log('204 body', r.valid, r.errors);
r = api.validator.validateResponse({id:'x', message:'m'}, dop, 502); console.log('502', r.valid, r.errors);
r = api.validator.validateResponse({id:'x', message:'m'}, dop, 422); console.log('422 on delete', r.valid, r.errors);
r = api.validator.validateResponse('<html>', dop, 502); console.log('502 html', r.valid, r.errors);
const kop = api.router.matchOperation({ method: 'delete', path: '/v2/account/keys/aa:bb', headers: {} });
console.log(kop && kop.operationId);
r = api.validator.validateRequest({ method: 'delete', path: '/v2/account/keys/3b:16:bf', headers: {} }, kop); console.log('fp', r.valid, r.errors);
const tr = api.router.matchOperation({ method: 'post', path: '/v2/tags/foo/resources', headers: {} }); console.log(tr&&tr.operationId);
})();
