"""The /docs page: rendered in the browser from /openapi.json, with nothing fetched from elsewhere.

FastAPI's own /docs loads Swagger UI from a CDN; a desk on a closed network (or one that does not
want its staff's browsers calling a third party) gets this self-contained page instead: one HTML
file, inline script and style, listing every endpoint with its parameters, body and responses.
"""

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>verify API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:0}.op{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:bold;font-family:monospace}.p{font-family:monospace}
.GET{color:#06c}.POST{color:#080}.DELETE{color:#b00}table{border-collapse:collapse;margin:.4rem 0}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top;font-size:13px}
code,pre{background:#f4f4f4;padding:.1rem .3rem;font-size:13px}pre{padding:.6rem;overflow:auto}
</style></head><body>
<h1>verify API</h1><p id="desc">Loading <a href="/openapi.json">/openapi.json</a>&hellip;</p>
<div id="ops"></div>
<script>
function esc(s){return String(s==null?"":s).replace(/[&<>"']/g,function(c){return {"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]})}
function ref(spec,s){while(s&&s.$ref){var p=s.$ref.replace(/^#\\//,"").split("/");s=p.reduce(function(o,k){return o&&o[k]},spec)}return s||{}}
function typ(spec,s){s=ref(spec,s);if(s.anyOf)return s.anyOf.map(function(x){return typ(spec,x)}).join(" | ");
 if(s.enum)return s.enum.map(function(x){return JSON.stringify(x)}).join(" | ");if(s.type==="array")return typ(spec,s.items)+"[]";return s.type||"object"}
function props(spec,s){s=ref(spec,s);var r=s.required||[],h="";for(var k in (s.properties||{})){var p=s.properties[k];
 h+="<tr><td class=p>"+esc(k)+(r.indexOf(k)>=0?" *":"")+"</td><td>"+esc(typ(spec,p))+"</td><td>"+esc(ref(spec,p).description||p.description||"")+"</td></tr>"}
 return h?"<table><tr><th>field</th><th>type</th><th></th></tr>"+h+"</table>":""}
fetch("/openapi.json").then(function(r){return r.json()}).then(function(spec){
 document.getElementById("desc").innerHTML=esc(spec.info.description)+" &mdash; version "+esc(spec.info.version)+", <a href='/openapi.json'>OpenAPI document</a>.";
 var out="";Object.keys(spec.paths).forEach(function(path){var item=spec.paths[path];Object.keys(item).forEach(function(m){var op=item[m];
  out+="<div class=op><div><span class='m "+m.toUpperCase()+"'>"+m.toUpperCase()+"</span> <span class=p>"+esc(path)+"</span> &mdash; "+esc(op.summary||"")+"</div>";
  if(op.security)out+="<div>Needs a token.</div>";
  var ps=(op.parameters||[]).map(function(p){return "<tr><td class=p>"+esc(p.name)+(p.required?" *":"")+"</td><td>"+esc(p.in)+"</td><td>"+esc(typ(spec,p.schema))+"</td><td>"+esc(p.description||"")+"</td></tr>"}).join("");
  if(ps)out+="<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>"+ps+"</table>";
  if(op.requestBody){var c=op.requestBody.content;Object.keys(c).forEach(function(ct){out+="<div>Body: <code>"+esc(ct)+"</code></div>"+props(spec,c[ct].schema)})}
  out+="<div>Responses: "+Object.keys(op.responses||{}).map(esc).join(", ")+"</div></div>"})});
 document.getElementById("ops").innerHTML=out}).catch(function(e){document.getElementById("desc").textContent="Could not load /openapi.json: "+e});
</script></body></html>
"""
