const YAML = require('yaml'); const fs=require('fs');
const doc = YAML.parse(fs.readFileSync('/work/shared/digitalocean-openapi/digitalocean-public.v2.bundled.yaml','utf8'));
function res(o){ if(o&&o.$ref){const parts=o.$ref.slice(2).split('/'); let x=doc; for(const p of parts) x=x[p.replace(/~1/g,'/')]; return x;} return o;}
function show(s, depth, seen=new Set()){
  s=res(s); if(!s) return s; if (depth<=0) return '...';
  const out={};
  for (const k of ['type','required','enum','format','nullable']) if (s[k]!==undefined) out[k]=s[k];
  if (s.properties) { out.properties={}; for (const [k,v] of Object.entries(s.properties)) out.properties[k]=show(v,depth-1); }
  if (s.items) out.items=show(s.items,depth-1);
  for (const k of ['allOf','oneOf','anyOf']) if (s[k]) out[k]=s[k].map(x=>show(x,depth-1));
  if (s.additionalProperties!==undefined) out.additionalProperties = typeof s.additionalProperties==='object'?show(s.additionalProperties,depth-1):s.additionalProperties;
  return out;
}
const [opId, code, depth] = process.argv.slice(2);
for (const [p, item] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(item)) if (op && op.operationId===opId) {
  if (code==='req') { console.log(JSON.stringify((op.parameters||[]).map(x=>{x=res(x); return {name:x.name,in:x.in,required:x.required,schema:show(x.schema,3)}}),null,1)); const rb=res(op.requestBody); if(rb) console.log(JSON.stringify(show(rb.content['application/json'].schema, +depth||6),null,1)); }
  else { const r=res(op.responses[code]); console.log(JSON.stringify({headers: Object.keys(r.headers||{}), content: r.content && Object.fromEntries(Object.entries(r.content).map(([ct,c])=>[ct, show(c.schema, +depth||6)]))}, null, 1)); }
}
