/*
 * dash.c - the dashboard page served at / (see dash.h). Plain HTML, CSS and
 * JavaScript inline; it reads /api/sessions and /api/stages every second.
 *
 * For tests (tests/controlplane/browser/dash.mjs) and scripts, the page
 * keeps stable hooks: a session row is tr[data-session=<id>] with
 * data-state and data-progress (overall percent: 100 once done, else the
 * mean of the five stages' percents, at most 99), its result links
 * a.result[data-file], its error span.err[data-error]; a stage row is
 * tr[data-stage=<name>] with data-alive, data-expected and, from the second
 * poll on, data-rate (input messages per second). /?finished=N shows N
 * finished sessions instead of 10 until "show all finished" is clicked.
 */
#include "dash.h"

#include <stdlib.h>
#include <string.h>

/* The page in parts: ISO C bounds one string literal (4095 bytes). */
static const char *const parts[] = {
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>coffee-stream sessions</title>\n"
    "<style>\n"
    "body{font:13px system-ui,sans-serif;margin:1.2em;color:#222}\n"
    "h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.05em;margin:1.2em 0 "
    ".3em}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{padding:3px 6px;border-bottom:1px solid "
    "#ddd;text-align:left;white-space:nowrap}\n"
    "th{background:#f4f4f4;font-weight:600}td.num{text-align:right}\n"
    ".bar{background:#e4e4e4;width:70px;height:9px;display:inline-block;"
    "vertical-align:middle}\n"
    ".bar i{display:block;height:9px;background:#3a7}\n"
    ".mini{width:22px;margin-right:2px}\n"
    ".failed,.aborted{color:#b00}.done{color:#070}.streaming,.draining,."
    "finishing{color:#05a}\n"
    ".err{color:#b00;white-space:normal;max-width:28em}\n"
    ".rep{display:inline-block;width:9px;height:9px;border-radius:50%;margin-"
    "right:2px;background:#c33}\n"
    ".rep.up{background:#3a7}\n"
    "#status{color:#666}a.result{margin-right:6px}\n"
    "tr.fin td{color:#555}\n"
    "</style></head><body>\n"
    "<h1>coffee-stream sessions</h1>\n"
    "<p id=\"status\">loading...</p>\n"
    "<h2>Stages</h2>\n"
    "<table id=\"stages\"><thead><tr><th>stage</th><th>replicas alive</th>\n"
    "<th>msgs/s in</th><th>MB/s in</th><th>msgs/s out</th><th>busy</th>\n"
    "<th>queued</th><th>sessions</th><th>restarts</th></tr></thead>\n"
    "<tbody id=\"stage-rows\"></tbody></table>\n"
    "<h2>Sessions <span id=\"counts\"></span></h2>\n"
    "<table "
    "id=\"sessions\"><thead><tr><th>session</th><th>client</th><th>state</th>\n"
    "<th>started</th><th>seconds</th><th>rows sent</th><th>progress</th>\n"
    "<th title=\"filter, agg-q2, agg-q3, agg-q4, sink\">stages</th>\n"
    "<th>results / error</th></tr></thead>\n"
    "<tbody id=\"rows\"></tbody></table>\n"
    "<p><button id=\"more\" type=\"button\">show all finished</button></p>\n"
    "<script>\n"
    "const STAGES=['filter','agg-q2','agg-q3','agg-q4','sink'];\n"
    "const FINAL=['done','failed','aborted'];\n"
    "const FINISHED_SHOWN=Number(new "
    "URLSearchParams(location.search).get('finished'))||10;\n"
    "let showAll=false,prev=null;\n"
    "function el(tag,text,cls){const e=document.createElement(tag);\n"
    "if(text!==undefined&&text!==null)e.textContent=text;if(cls)e.className="
    "cls;return e;}\n"
    "function bar(p,cls){const s=el('span',null,'bar'+(cls?' '+cls:''));\n"
    "const "
    "i=el('i');i.style.width=Math.max(0,Math.min(100,p))+'%';s.appendChild(i);"
    "return s;}\n"
    "function overall(s){if(s.state==='done')return 100;let t=0;\n"
    "for(const n of STAGES){const "
    "x=(s.stages||[]).find(y=>y.stage===n);t+=x?x.percent:0;}\n"
    "return Math.min(99,Math.floor(t/STAGES.length));}\n"
    "function fmt(n){return "
    "n>=1e6?(n/1e6).toFixed(1)+'M':n>=1e3?(n/1e3).toFixed(1)+'k':String(n);}\n"
    "function row(s){const r=el('tr');const fin=FINAL.includes(s.state);\n"
    "r.id='s-'+s.id;r.dataset.session=s.id;r.dataset.state=s.state;\n"
    "const p=overall(s);r.dataset.progress=p;if(fin)r.className='fin';\n"
    "const idc=el('td',s.id.slice(0,8));idc.title=s.id;r.appendChild(idc);\n"
    "r.appendChild(el('td',s.client||''));\n"
    "r.appendChild(el('td',s.state,'state '+s.state));\n"
    "r.appendChild(el('td',new Date(s.started_ms).toLocaleTimeString()));\n"
    "const end=s.ended_ms>s.started_ms?s.ended_ms:Date.now();\n"
    "r.appendChild(el('td',((end-s.started_ms)/1000).toFixed(1),'num'));\n",
    "r.appendChild(el('td',s.rows_sent?fmt(s.rows_sent):'','num'));\n"
    "const pc=el('td',null,'progress');pc.appendChild(bar(p));\n"
    "pc.appendChild(document.createTextNode(' '+p+' %'));r.appendChild(pc);\n"
    "const sc=el('td');for(const n of STAGES){const "
    "x=(s.stages||[]).find(y=>y.stage===n);\n"
    "const v=x?Math.round(x.percent):0;const b=bar(v,'mini');b.title=n+': "
    "'+v+' %'+\n"
    "(x?' ('+x.processed+'/'+x.expected+', "
    "'+x.state+')':'');b.dataset.stage=n;\n"
    "b.dataset.percent=v;sc.appendChild(b);}r.appendChild(sc);\n"
    "const rc=el('td');if(s.error){const "
    "e=el('span',s.error,'err');e.dataset.error='';\n"
    "rc.appendChild(e);}\n"
    "for(const f of (s.results||[])){if(!f.url)continue;const "
    "a=el('a',f.file,'result');\n"
    "a.href=f.url;a.dataset.file=f.file;a.title=(f.rows!==undefined?f.rows+' "
    "rows, ':'')+\n"
    "(f.bytes!==undefined?f.bytes+' bytes':'');rc.appendChild(a);}\n"
    "r.appendChild(rc);return r;}\n"
    "function stageRow(st,now){const r=el('tr');r.id='stage-'+st.stage;\n"
    "r.dataset.stage=st.stage;r.dataset.alive=st.alive;\n"
    "r.dataset.expected=st.replicas_expected;r.appendChild(el('td',st.stage));"
    "\n"
    "const a=el('td');for(const x of st.replicas){const "
    "d=el('span',null,'rep'+(x.alive?' up':''));\n"
    "d.title='replica '+x.replica+(x.pid?' pid '+x.pid:'')+(x.alive?' alive':' "
    "not seen for 3 s');\n"
    "a.appendChild(d);}\n"
    "a.appendChild(document.createTextNode(' "
    "'+st.alive+'/'+(st.replicas_expected||st.replicas.length)));\n"
    "r.appendChild(a);let mi='',bi='',mo='';\n"
    "const p=prev&&prev.stages.find(x=>x.stage===st.stage);const "
    "dt=prev?(now-prev.now_ms)/1000:0;\n"
    "if(p&&dt>0){mi=Math.max(0,(st.msgs_in-p.msgs_in)/"
    "dt);bi=Math.max(0,(st.bytes_in-p.bytes_in)/dt/1e6);\n"
    "mo=Math.max(0,(st.msgs_out-p.msgs_out)/dt);r.dataset.rate=mi.toFixed(2);\n"
    "r.dataset.busy=Math.min(100,Math.max(0,(st.busy_s-p.busy_s)/dt/"
    "Math.max(1,st.alive)*100)).toFixed(0);}\n"
    "r.appendChild(el('td',mi===''?'':mi.toFixed(1),'num'));\n"
    "r.appendChild(el('td',bi===''?'':bi.toFixed(2),'num'));\n"
    "r.appendChild(el('td',mo===''?'':mo.toFixed(1),'num'));\n"
    "r.appendChild(el('td',r.dataset.busy!==undefined?r.dataset.busy+' "
    "%':'','num'));\n"
    "let q=0,known=false;for(const x of "
    "st.queues){if(x.messages!==null){q+=x.messages;known=true;}}\n"
    "const "
    "qc=el('td',known?String(q):'','num');qc.title=st.queues.map(x=>x.name+': "
    "'+\n"
    "(x.messages===null?'?':x.messages)).join('\\n');r.appendChild(qc);\n"
    "r.appendChild(el('td',String(st.sessions),'num'));\n"
    "r.appendChild(el('td',String(st.restarts),'num'));return r;}\n"
    "async function stages(){const res=await fetch('/api/stages');const "
    "j=await res.json();\n"
    "document.getElementById('stage-rows').replaceChildren(...j.stages.filter("
    "\n"
    "s=>s.replicas.length>0||s.replicas_expected>0).map(s=>stageRow(s,j.now_ms)"
    "));prev=j;}\n"
    "async function sessions(){const res=await fetch('/api/sessions');const "
    "j=await res.json();\n"
    "const run=j.sessions.filter(s=>!FINAL.includes(s.state));\n"
    "const fin=j.sessions.filter(s=>FINAL.includes(s.state));\n"
    "const shown=showAll?fin:fin.slice(0,FINISHED_SHOWN);\n"
    "document.getElementById('rows').replaceChildren(...run.concat(shown).map("
    "row));\n",
    "document.getElementById('counts').textContent='('+run.length+' running, "
    "'+fin.length+\n"
    "' finished'+(shown.length<fin.length?', '+shown.length+' shown':'')+')';\n"
    "document.getElementById('more').textContent=showAll?'show the "
    "'+FINISHED_SHOWN+\n"
    "' newest finished':'show all finished';return j.sessions.length;}\n"
    "async function tick(){const st=document.getElementById('status');\n"
    "try{const n=await sessions();let note='';\n"
    "try{await stages();}catch(e){note=' (stages unavailable: '+e+')';}\n"
    "st.textContent=n+' sessions, updated '+new "
    "Date().toLocaleTimeString()+note;\n"
    "st.dataset.updated=Date.now();}\n"
    "catch(e){st.textContent='control plane unreachable: '+e;}}\n"
    "document.getElementById('more').onclick=()=>{showAll=!showAll;tick();};\n"
    "tick();setInterval(tick,1000);\n"
    "</script></body></html>\n",
};

char *cp_dash_page(void)
{
    size_t i, n = 0, len[sizeof(parts) / sizeof(parts[0])];
    char *page, *p;

    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        n += len[i] = strlen(parts[i]);
    page = p = malloc(n + 1);
    if (page == NULL)
        return NULL;
    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        memcpy(p, parts[i], len[i]);
        p += len[i];
    }
    *p = '\0';
    return page;
}
