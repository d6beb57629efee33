const YAML = require('yaml'); const fs=require('fs');
const t0=Date.now();
const doc = YAML.parse(fs.readFileSync('/work/shared/digitalocean-openapi/digitalocean-public.v2.bundled.yaml','utf8'));
console.log('parse ms', Date.now()-t0, doc.openapi, doc.servers);
const want = ['droplets_create','droplets_get','droplets_list','droplets_destroy','droplets_destroy_byTag','dropletActions_post','dropletActions_get','actions_get','droplets_list_snapshots','snapshots_list','snapshots_get','snapshots_delete','imageActions_post','imageActions_get','sshKeys_create','sshKeys_list','sshKeys_delete','sshKeys_get','tags_create','tags_assign_resources','images_get','images_list','regions_list','sizes_list','images_delete'];
for (const [p, item] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(item)) if (op && op.operationId && want.includes(op.operationId)) console.log(m.toUpperCase(), p, op.operationId, Object.keys(op.responses).join(','));
console.log(doc.components.securitySchemes, doc.security);
