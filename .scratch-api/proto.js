const YAML = require('yaml'); const fs=require('fs');
const { OpenAPIBackend } = require('openapi-backend');
const addFormats = require('ajv-formats');
(async () => {
let t0=Date.now();
const doc = YAML.parse(fs.readFileSync('/work/shared/digitalocean-openapi/digitalocean-public.v2.bundled.yaml','utf8'));
console.log('yaml', Date.now()-t0); t0=Date.now();
const api = new OpenAPIBackend({ definition: doc, quick: true, validate: true, ajvOpts: { strict: false, unicodeRegExp: false, allErrors: true },
  customizeAjv: (ajv) => { addFormats.default ? addFormats.default(ajv) : addFormats(ajv); ajv.addFormat('uint32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff }); return ajv; } });
await api.init();
console.log('init', Date.now()-t0); t0=Date.now();
const op = api.router.matchOperation({ method: 'get', path: '/v2/droplets/123', headers: {} });
console.log(op && op.operationId, Date.now()-t0); t0=Date.now();
let r = api.validator.validateResponse({ droplet: { id: 1 } }, op, 200);
console.log('validate ms', Date.now()-t0, r.valid, r.errors && r.errors.slice(0,3)); t0=Date.now();
r = api.validator.validateResponse({ id: 'not_found', message: 'x' }, op, 404); console.log(r.valid, Date.now()-t0);
r = api.validator.validateResponseHeaders({ 'ratelimit-limit': '5000', 'ratelimit-remaining':'4999','ratelimit-reset':'123' }, op, {statusCode:200}); console.log('hdr', r.valid, r.errors);
const cop = api.router.matchOperation({ method: 'post', path: '/v2/droplets', headers: {} });
t0=Date.now();
r = api.validator.validateRequest({ method: 'post', path: '/v2/droplets', headers: {'content-type':'application/json', authorization:'Bearer x'}, body: { name: 'a', region:'nyc3', size:'s-1vcpu-1gb', image:'debian-12-x64', ssh_keys:['aa:bb'] } }, cop);
console.log('req', r.valid, r.errors, Date.now()-t0);
r = api.validator.validateRequest({ method: 'post', path: '/v2/droplets', headers: {'content-type':'application/json'}, body: { region: 5 } }, cop);
console.log('badreq', r.valid, JSON.stringify(r.errors).slice(0,500));
const lop = api.router.matchOperation({ method: 'get', path: '/v2/droplets', headers: {} });
r = api.validator.validateRequest({ method: 'get', path: '/v2/droplets', query: 'page=x&tag_name=a', headers: {} }, lop);
console.log('q', r.valid, JSON.stringify(r.errors).slice(0,500));
console.log(Object.keys(api.validator), process.memoryUsage().rss/1e6);
})();
