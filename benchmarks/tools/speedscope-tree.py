#!/usr/bin/env python3
"""Inclusive thread time under one frame of a dotnet-trace Speedscope file, as a call tree.

usage: speedscope-tree.py <file.speedscope.json> <frame name substring> <depth> <min ms>
Made with: dotnet-trace collect --profile dotnet-sampled-thread-time --format Speedscope -o x.nettrace -- <command>
Thread time counts a blocked thread too (UNMANAGED_CODE_TIME leaves include waits); read the frames under the writer.
"""
import json, collections, sys
d=json.load(open(sys.argv[1])); root=sys.argv[2]; depth=int(sys.argv[3])
frames=[f['name'] for f in d['shared']['frames']]
tree=collections.Counter()
for p in d['profiles']:
    stack=[]; last=None
    for e in p['events']:
        t=e['at']
        if stack and last is not None:
            names=[frames[f] for f in stack]
            idx=[i for i,n in enumerate(names) if root in n]
            if idx:
                sub=tuple(n[:110] for n in names[idx[0]:idx[0]+depth+1])
                for k in range(1,len(sub)+1): tree[sub[:k]]+=t-last
        last=t
        if e['type']=='O': stack.append(e['frame'])
        elif stack: stack.pop()
for k,w in sorted(tree.items()):
    if w>=float(sys.argv[4]): print(f"{w:8.0f} "+"  "*(len(k)-1)+k[-1])
