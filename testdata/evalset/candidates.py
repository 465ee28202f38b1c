#!/usr/bin/python3
"""candidates.py: numpy prototypes of the separation changes measured for issue 11, on the val split.

    /usr/bin/python3 testdata/evalset/candidates.py [--split val|test] [NAME ...]

Needs make.sh's WORK folder (${TMPDIR:-/tmp}/sepd-evalset) for the val split and the fit
material. Every candidate is sepd's streaming KL projection (separate.Separator: 10
warm-started multiplicative updates per frame, floor 0.03, cold start
sqrt(mean(v)/K)) with one change, followed by masks p = 2 and the engine's inverse
STFT (testdata/gen/sepdref.py). The unchanged prototype ("default") gives sepd's own
per-source SDR to 0.01 dB (compare score.py --split val). Each line prints SDR minus
scikit-learn's converged batch SDR (baseline.json) per source, in the order of
manifest.json, then the mean and the smallest. Candidates (NAME):

  default      as sepd runs today
  floor        warm-start floor 0.01 / 0.1 / 0.2 (and 0.1 with 20 iterations)
  smooth       temporal continuity prior lambda * sum_k (h_k - h'_k)^2 / h'_k with h' the
               previous frame's (floored) activations: numerator + 2 lambda,
               denominator + 2 lambda h / h'
  lookahead    masks of frame t from the mean of the model powers (W_s h_s)^2 of frames
               t and t+1 (one hop more latency)
  recursive    masks from model powers smoothed over frames, P_t = a P_{t-1} + (1-a) (W_s h_s)^2
  logsparse    log prior lambda * sum_k log(h_k + eps mean h), scaled by mean(colsum W)
  groupsparse  log prior on each source's total activation (weighted by colsum W)
  reproject    masks, then each source's masked magnitude projected onto its own bases
               alone, and masks again from those models
  stack        frame stacking: bases learned by sklearn NMF on [v_{t-1}; v_t] of the fit
               material (K = 32, 200 iterations), projected on stacked frames, masks from
               the current frame's half (about 2 minutes: it learns 8 NMFs)
  stack4       the same with 4 frames [v_{t-3}; ...; v_t] (150 iterations; about 6 minutes)
  exponent     beta 0.5 with gamma 2/3 (scikit-learn's) and 1 (heuristic; also 20
               iterations), beta 0.25 and 0 with gamma 1
  samebases    h shared by two or three frames with the single-frame bases repeated:
               [v_{t-1}; v_t], [v_t; v_{t+1}] (one hop of look-ahead), [v_{t-1}; v_t; v_{t+1}]
  sourcelevel  each source's total model power smoothed over frames (a = 0.5), its
               spectral shape kept
  consistency  MISI (Gunawan & Sen 2010) on the masked STFTs: resynthesise, re-analyse,
               keep each source's magnitude, share the mixture's residual by the masks;
               1 and 3 iterations, offline
  prune        after the updates, activations whose share sum_f W_fk h_k is below tau times
               the largest set to 0, then 2 more updates (or none)
  weighting    weighted KL: every bin's divergence times w_f = (mean_k W_fk)^-a (normalised
               to mean 1), i.e. v and the rows of W scaled by w at no cost per frame (the
               masks do not change with a per-bin weight); and a "discriminative" weight
               |log(mean W_A,f / mean W_B,f)|^a + 0.1
  oraclenmf    the bound for any projection with these bases: each true source's
               magnitude projected onto its own bases (sklearn, converged), masks p = 2
  stackgap     frame stacking with a gap: [v_{t-d}; v_t], d = 2 and 4 (d = 4: one whole
               window back, no overlap), bases learned by sklearn NMF on the stacked fit
               frames as in stack (cached in WORK/cand-cache), masks from the current
               half; KL and beta 0.5 gamma 1 projections (about 6 minutes the first time)
  adapt        online adaptation of the bases to the mixture (Lefevre, Bach & Fevotte
               2011): EM-form statistics forgotten at rho per frame, A = rho A +
               W o (v / Wh) h^T, B = rho B + h, with a prior toward the given bases,
               W = (A + lam W0) / (B + lam), lam = c mean_k B_k; masks from the updated
               bases. rho 0.99 with c 1 / 3 / 10 / 30, rho 0.98 / 0.995 / 0.999 with c 5 /
               10 / 20, and beta 0.5 gamma 1 with c 5 / 10 / 20 (rho 0.99) and 5 / 10
               (rho 0.98)
  recon        discriminative reconstruction bases (after Weninger, Le Roux, Hershey &
               Schuller 2014): the streaming projection on the given bases W runs on
               training mixtures of the two fit parts (0 dB, three circular shifts of the
               second), and reconstruction bases W'_s (initialised at W_s) are fitted to
               those activations; the masks use W' (the projection still uses W: no cost per
               frame). Objectives: KL(|S_s| | W'_s h_s) ("source", 100 iterations), the KL
               of the Wiener-filtered mixture to |S_s| ("wiener") and its squared error
               sum_s || |S_s| - M_s |X| ||^2 ("wienerl2", 100 iterations), alone and with
               adapt (the masks then use W' o (W_t / W0)) and beta 0.5 gamma 1. Cached in
               WORK/cand-cache; about 20 minutes the first time
  incoherence  KL projection plus lam sum_f (W_A h_A)_f (W_B h_B)_f / (v_f + 0.001 mean v)
               (a penalty on both sources explaining the same bins), lam 0.1 / 0.3 / 1
  snr          best and beta 0.5 gamma 1 on the val sources remixed at -6 and +6 dB, SDR
               minus the default's (the reconstruction bases were learned at 0 dB)
  longrun      best and adapt on the val mixture repeated 5 times (30 s), each repetition
               scored alone against the default: whether the adapted bases keep drifting
  best         recon "wienerl2" (300 iterations) with adapt (rho 0.99, c 5) and beta 0.5
               gamma 1 (the one that did best on val; scored once on test)
  context      best's reconstruction with temporal context: the masks take
               Y_s(t) = W'_s0 h_s(t) + W'_s1 h_s(t-1), both fitted by wienerl2 (W'_s1
               starts at 0.05 W_s); no latency, one more product per source and frame
  crossrecon   best's reconstruction from every source's activations:
               Y_s = sum_j W'_sj h_j (W'_sj, j != s, starts at 0.05 W_j)
  snrmix       best with W' fitted on the fit mixtures at -6, 0 and +6 dB, not 0 dB alone
  analysis     analysis bases W_a fitted so that the oracle activations H* (each fit
               source projected on its own bases, 30 streaming iterations) explain the
               fit mixture, min D_0.5(V | W_a H*) from W_a = W (100 updates); the
               projection (and adapt's prior) then uses W_a: alone, with adapt, and with
               adapt and best's W' learned on W_a's activations
  unfold       discriminative analysis bases (deep unfolding, Hershey, Le Roux & Weninger
               2014, tied across iterations): the streaming beta-0.5 gamma-1 projection's
               10 updates per frame unrolled on the fit mixtures, its bases trained by
               Adam (40 steps, rate 0.01 on log W_a) for best's objective with best's W'
               fixed; then best with W_a as the projection's and adapt's prior's bases,
               and the same without adapt.
               Needs python3-torch; about 20 minutes on 2 cores. unfoldgain: per-source
               per-bin gains instead (mode 'gain', 60 steps, rate 0.03), talkers16 only
  augment      best's W' fitted on the fit mixtures at three speeds (-6 %, 0, +6 %): its
               training activations from material the bases were not fitted on
  synth        best's W' fitted from the bases alone, on synthetic mixtures of note-like
               random activations of each source's bases (random phases): no training audio
  relfloor     the default (beta 0.5, gamma 1, adapt 5) with a warm-start floor that does
               not depend on each basis's scale (relative to each activation's running
               mean), with the bases as given and at unit L1 norm
  recon6       best with W' fitted on six training mixtures (the second source shifted by
               sixths of its length) instead of three
  psa          best with W' fitted to the phase-sensitive targets |S_s| cos(angle S_s -
               angle X) instead of |S_s| (Erdogan, Hershey, Watanabe & Le Roux 2015): the
               squared error of the masked complex STFT, which the output's error is
               made of, not of its magnitude
"""
import argparse
import json, os, re, sys, warnings
import numpy as np, scipy.io.wavfile, mir_eval
sys.dont_write_bytecode = True
E=os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(E, '..', 'gen')); import sepdref  # noqa: E402
WORK=os.path.join(os.environ.get('TMPDIR', '/tmp'), 'sepd-evalset')
man=json.load(open(E+'/manifest.json')); base=json.load(open(E+'/baseline.json'))
def rd(p): r,x=scipy.io.wavfile.read(p); return x/32768.0
cache={}
def load(sc, split):
    key=(sc['name'],split)
    if key in cache: return cache[key]
    names=[s['name'] for s in sc['sources']]
    fo = f"{E}/{sc['name']}/test" if split=='test' else f"{WORK}/{sc['name']}/val"
    x=rd(fo+'/mix.wav'); refs=[rd(f'{fo}/{n}.wav') for n in names]
    comps=[np.load(f"{E}/{sc['name']}/bases/{n}.npy") for n in names]
    W=np.concatenate(comps,0).astype(np.float64).T
    st=np.concatenate([[0],np.cumsum([c.shape[0] for c in comps])])
    X=sepdref.stft(x,sc['fft_size'],sc['hop'])
    cache[key]=(names,x,refs,W,st,X); return cache[key]

def stream(V,W,iters=10,floor=0.03,smooth=0.0,sparsity=0.0,beta=1.0):
    F,K=W.shape; T=V.shape[1]; H=np.zeros((K,T)); cs=W.sum(0); h=None
    for t in range(T):
        v=V[:,t]
        if v.max()<=0: h=None; continue
        if h is None: h=np.full(K,np.sqrt(v.mean()/K)); hp=None
        else:
            hp=h.copy(); h=np.maximum(h,floor*h.max())
        hpf = None if hp is None else np.maximum(hp, floor*hp.max())
        for _ in range(iters):
            wh=np.maximum(W@h,1e-12)
            num=W.T@(v/wh); den=cs+sparsity
            if smooth>0 and hpf is not None:
                num=num+2*smooth; den=den+2*smooth*h/hpf
            h=h*num/den
        H[:,t]=h
    return H

def run(split='val', p=2.0, alpha=0.0, look=0, **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        H=stream(V,W,**kw)
        P=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**p for s in range(len(names))]
        if look:   # average the model power of frames t and t+1 (latency + hop)
            P=[0.5*(q+np.concatenate([q[:,1:],q[:,-1:]],1)) for q in P]
        if alpha>0:
            for q in P:
                for t in range(1,q.shape[1]): q[:,t]=alpha*q[:,t-1]+(1-alpha)*q[:,t]
        den=sum(P); M=[np.divide(q,den,out=np.full_like(q,1/len(P)),where=den>0) for q in P]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]
    res=np.array(res)
    print(f"{split} p={p} alpha={alpha} look={look} {kw}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)
    return res

def oracle_nmf(split='val', p=2.0):
    from sklearn.decomposition import non_negative_factorization
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split)
        P=[]
        for s,r in enumerate(refs):
            Ws=W[:,st[s]:st[s+1]]; Ss=np.abs(sepdref.stft(r,sc['fft_size'],sc['hop']))
            Hs,_,_=non_negative_factorization(X=Ss.T,H=Ws.T.copy(),n_components=Ws.shape[1],init='custom',update_H=False,solver='mu',beta_loss='kullback-leibler',max_iter=500,tol=1e-6)
            P.append((Ws@Hs.T)**p)
        den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]
    res=np.array(res); print(f"oracle-NMF p={p}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)

def kl_proj(V, W, h0, iters):
    cs=W.sum(0); h=h0.copy()
    for _ in range(iters):
        h=h*(W.T@(V/np.maximum(W@h,1e-12)))/cs[:,None] if h.ndim==2 else h*(W.T@(V/np.maximum(W@h,1e-12)))/cs
    return h

def reproj(split='val', p=2.0, iters=10, iters2=10, rounds=1, p1=2.0):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        H=stream(V,W,iters=iters)
        P=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]]) for s in range(len(names))]
        for _ in range(rounds):
            Q=[q**p1 for q in P]; den=sum(Q); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in Q]
            P2=[]
            for s in range(len(names)):
                Ws=W[:,st[s]:st[s+1]]
                Hs=kl_proj(M[s]*V, Ws, H[st[s]:st[s+1]]+1e-9, iters2)
                P2.append(Ws@Hs)
            P=P2
        Q=[q**p for q in P]; den=sum(Q); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in Q]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]
    res=np.array(res); print(f"reproj p={p} p1={p1} iters={iters} iters2={iters2} rounds={rounds}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)

def stream2(V,W,st,iters=10,floor=0.03,lam_log=0.0,lam_grp=0.0,eps=0.01):
    F,K=W.shape; T=V.shape[1]; H=np.zeros((K,T)); cs=W.sum(0); h=None
    for t in range(T):
        v=V[:,t]
        if v.max()<=0: h=None; continue
        if h is None: h=np.full(K,np.sqrt(v.mean()/K))
        else: h=np.maximum(h,floor*h.max())
        for _ in range(iters):
            wh=np.maximum(W@h,1e-12)
            num=W.T@(v/wh); den=cs.copy()
            if lam_log: 
                sc_=h.mean(); den=den+lam_log*cs.mean()*sc_/(h+eps*sc_)
            if lam_grp:
                tot=h@cs
                for s in range(len(st)-1):
                    g=h[st[s]:st[s+1]]@cs[st[s]:st[s+1]]
                    den[st[s]:st[s+1]]+=lam_grp*cs[st[s]:st[s+1]]*tot/(g+eps*tot)/ (len(st)-1) / (st[s+1]-st[s])
            h=h*num/den
        H[:,t]=h
    return H

def run2(split='val', **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        H=stream2(V,W,st,**kw)
        P=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**2 for s in range(len(names))]
        den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]
    res=np.array(res); print(f"{split} {kw}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)
    return res


def stream_b(V,W,iters=10,floor=0.03,beta=1.0,gamma=None,wts=None):
    F,K=W.shape; T=V.shape[1]; H=np.zeros((K,T)); h=None
    if gamma is None: gamma = 1/(2-beta) if beta<1 else 1.0
    cs=W.sum(0)
    for t in range(T):
        v=V[:,t]
        if v.max()<=0: h=None; continue
        if h is None: h=np.full(K,np.sqrt(v.mean()/K))
        else: h=np.maximum(h,floor*h.max())
        for _ in range(iters):
            wh=np.maximum(W@h,1.2e-7)
            if beta==1: num=W.T@(v/wh); den=cs
            else: num=W.T@(v*wh**(beta-2)); den=W.T@(wh**(beta-1))
            h=h*(num/np.maximum(den,1.2e-7))**gamma
        H[:,t]=h
    return H

def stackpair(V, mode):
    T=V.shape[1]
    nxt=np.concatenate([V[:,1:],np.zeros((V.shape[0],1))],1)
    prv=np.concatenate([np.zeros((V.shape[0],1)),V[:,:-1]],1)
    if mode=='next': return np.concatenate([V,nxt],0)
    if mode=='prev': return np.concatenate([prv,V],0)
    if mode=='both': return np.concatenate([prv,V,nxt],0)

def run3(split='val', p=2.0, stack=None, srcsmooth=0.0, ens=None, **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X); F=V.shape[0]
        if stack:
            n={'next':2,'prev':2,'both':3}[stack]
            H=stream_b(stackpair(V,stack),np.concatenate([W]*n,0),**kw)
        else:
            H=stream_b(V,W,**kw)
        P=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**p for s in range(len(names))]
        if ens:
            H2=stream_b(V,W,**ens)
            P2=[(W[:,st[s]:st[s+1]]@H2[st[s]:st[s+1]])**p for s in range(len(names))]
            d1=sum(P); d2=sum(P2)
            M=[0.5*(np.divide(a,d1,out=np.full_like(a,.5),where=d1>0)+np.divide(b,d2,out=np.full_like(b,.5),where=d2>0)) for a,b in zip(P,P2)]
        else:
            if srcsmooth>0:
                g=[q.sum(0) for q in P]; gs=[]
                for gi in g:
                    o=gi.copy()
                    for t in range(1,len(o)): o[t]=srcsmooth*o[t-1]+(1-srcsmooth)*gi[t]
                    gs.append(o)
                P=[q/np.maximum(gi,1e-30)*o for q,gi,o in zip(P,g,gs)]
            den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]
    res=np.array(res); print(f"{split} p={p} stack={stack} srcsmooth={srcsmooth} ens={ens} {kw}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)
    return res

def consist(split='val', iters_c=1, mode='mask', mag=False, **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X); n,hop=sc['fft_size'],sc['hop']
        H=stream_b(V,W,**kw)
        P=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**2 for s in range(len(names))]
        den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
        Xs=[m*X for m in M]; A=[np.abs(z) for z in Xs]
        for _ in range(iters_c):
            Y=[sepdref.stft(sepdref.istft(z,len(x),n,hop),n,hop) for z in Xs]
            if mag: Y=[a*np.exp(1j*np.angle(y)) for a,y in zip(A,Y)]
            E=X-sum(Y)
            Xs=[y+(m if mode=='mask' else 1/len(Y))*E for y,m in zip(Y,M)]
        ests=[sepdref.istft(z,len(x),n,hop) for z in Xs]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[nm]['sdr'] for i,nm in enumerate(names)]
    res=np.array(res); print(f"consist iters={iters_c} mode={mode} mag={mag} {kw}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)


def stream_prune(V,W,iters=10,floor=0.03,beta=1.0,gamma=1.0,tau=0.1,post=2,mode='global'):
    F,K=W.shape; T=V.shape[1]; H=np.zeros((K,T)); h=None; cs=W.sum(0)
    def upd(h,v,n):
        for _ in range(n):
            wh=np.maximum(W@h,1.2e-7)
            if beta==1: num=W.T@(v/wh); den=cs
            else: num=W.T@(v*wh**(beta-2)); den=W.T@(wh**(beta-1))
            h=h*(num/np.maximum(den,1.2e-7))**gamma
        return h
    for t in range(T):
        v=V[:,t]
        if v.max()<=0: h=None; continue
        if h is None: h=np.full(K,np.sqrt(v.mean()/K))
        else: h=np.maximum(h,floor*h.max())
        h=upd(h,v,iters)
        c=h*cs   # energy contribution
        hp=h.copy(); hp[c<tau*c.max()]=0
        if post: hp=upd(hp,v,post)
        H[:,t]=hp
    return H

def runp(split='val', p=2.0, **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        H=stream_prune(V,W,**kw)
        P=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**p for s in range(len(names))]
        den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]
    res=np.array(res); print(f"prune {split} p={p} {kw}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)

def runw(split='val', a=0.5, mode='flat', p=2.0, **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        if mode=='flat':
            w=np.maximum(W.mean(1),1e-12)**(-a)
        else:
            mA=W[:,st[0]:st[1]].mean(1)+1e-9; mB=W[:,st[1]:st[2]].mean(1)+1e-9
            w=np.abs(np.log(mA/mA.sum()*mB.sum()/mB))**a+0.1
        w=w/w.mean()
        H=stream_b(V*w[:,None],W*w[:,None],**kw)
        P=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**p for s in range(len(names))]
        den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]
    res=np.array(res); print(f"weighted {split} a={a} mode={mode} {kw}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)


def stackV(V,C,look=0):
    # rows: frames t-C+1+look .. t+look ; zero-padded
    F,T=V.shape; out=[]
    for d in range(-(C-1-look), look+1):
        s=np.zeros_like(V)
        if d<0: s[:,-d:]=V[:,:T+d]
        elif d>0: s[:,:T-d]=V[:,d:]
        else: s=V
        out.append(s)
    return np.concatenate(out,0)

def run_stack(split='val', C=2, ITER=200, look=0):
    from sklearn.decomposition import NMF
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W1,st,X=load(sc,split); V=np.abs(X); F=V.shape[0]
        Ws=[]
        for n in names:
            r,f=scipy.io.wavfile.read(f"{WORK}/{sc['name']}/fit/{n}.wav"); f=f/32768.0
            Vf=stackV(np.abs(sepdref.stft(f,sc['fft_size'],sc['hop'])),C,look)
            m=NMF(n_components=32,init='nndsvda',solver='mu',beta_loss='kullback-leibler',max_iter=ITER,random_state=0).fit(Vf.T)
            Ws.append(m.components_.T)
        W=np.concatenate(Ws,1); Vs=stackV(V,C,look)
        H=stream(Vs,W)
        cur=slice((C-1-look)*F,(C-look)*F)
        P=[(W[cur,st[s]:st[s+1]]@H[st[s]:st[s+1]])**2 for s in range(2)]
        den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
        sk=base['scenarios'][sc['name']][split]['sklearn']
        res+= [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]
        print(sc['name'], [f"{r:+.2f}" for r in res[-2:]], flush=True)
    res=np.array(res); print(f"stack C={C} iters={ITER} look={look}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)



# ---- issue 11, second round: stackgap, adapt, recon (discriminative reconstruction
# bases), incoherence ----

def score(sc, split, names, x, refs, X, P):
    """Masks P_s / sum_j P_j on the mixture STFT, inverse STFT, SDR minus sklearn's."""
    den=sum(P); M=[np.divide(q,den,out=np.full_like(q,1/len(P)),where=den>0) for q in P]
    ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
    sdr,_,_,_=mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)
    sk=base['scenarios'][sc['name']][split]['sklearn']
    return [sdr[i]-sk[n]['sdr'] for i,n in enumerate(names)]

def report(label, res):
    res=np.array(res)
    print(f"{label}: mean {res.mean():+.2f} min {res.min():+.2f} | "+" ".join(f"{r:+.2f}" for r in res), flush=True)
    return res

def fitspec(sc, n):
    r,f=scipy.io.wavfile.read(f"{WORK}/{sc['name']}/fit/{n}.wav"); f=f/32768.0
    return f

def stackoff(V, offs):
    """Rows [v_{t+o} for o in offs] (offsets <= 0), zero-padded before the start."""
    F,T=V.shape; out=[]
    for o in offs:
        s=np.zeros_like(V)
        if o<0: s[:,-o:]=V[:,:T+o]
        else: s=V
        out.append(s)
    return np.concatenate(out,0)

def stackbases(sc, names, offs, ITER=200):
    """sklearn NMF (KL, K = 32, nndsvda) on the stacked fit frames of every source;
    cached in WORK/cand-cache (the fit material is byte-reproducible)."""
    os.makedirs(f"{WORK}/cand-cache", exist_ok=True)
    from sklearn.decomposition import NMF
    Ws=[]
    for n in names:
        fn=f"{WORK}/cand-cache/{sc['name']}-{n}-stack{'_'.join(str(o) for o in offs)}-{ITER}.npy"
        if os.path.exists(fn): Ws.append(np.load(fn)); continue
        f=fitspec(sc,n)
        Vf=stackoff(np.abs(sepdref.stft(f,sc['fft_size'],sc['hop'])),offs)
        m=NMF(n_components=32,init='nndsvda',solver='mu',beta_loss='kullback-leibler',max_iter=ITER,random_state=0).fit(Vf.T)
        np.save(fn,m.components_.T); Ws.append(m.components_.T)
    return Ws

def run_stackgap(split='val', offs=(-2,0), **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W1,st,X=load(sc,split); V=np.abs(X); F=V.shape[0]
        W=np.concatenate(stackbases(sc,names,offs),1)
        H=stream_b(stackoff(V,offs),W,**kw)
        cur=slice((len(offs)-1)*F,len(offs)*F)
        P=[(W[cur,st[s]:st[s+1]]@H[st[s]:st[s+1]])**2 for s in range(2)]
        res+=score(sc,split,names,x,refs,X,P)
    return report(f"stackgap {split} offs={offs} {kw}", res)

def stream_adapt(V,W0,st,iters=10,floor=0.03,beta=1.0,gamma=None,rho=0.99,c=3.0,post=True,only=None,Wr=None,rel=False,mrho=0.99):
    """Streaming projection whose bases follow the mixture: EM-form sufficient statistics
    forgotten at rho per frame (Lefevre, Bach & Fevotte 2011),
    A = rho A + W o (v/Wh) h^T, B = rho B + h, mixed with a prior toward the given bases:
    W = (A + lam W0) / (B + lam), lam = c * mean_k B_k (a component used as much as
    the average one moves 1/(1+c) of the way to the data's estimate).
    With rel, the warm-start floor does not depend on the scale of each basis:
    h_k >= floor * m_k * max_j (h_j / m_j), m the activations' running mean (forgotten
    at mrho per frame), and the cold start is scaled by each basis's L1 norm (relfloor).
    Returns the activations and the bases each frame's masks use (after the update
    when post)."""
    F,K=W0.shape; T=V.shape[1]; H=np.zeros((K,T)); h=None
    if gamma is None: gamma = 1/(2-beta) if beta<1 else 1.0
    W=W0.copy(); A=np.zeros_like(W0); B=np.zeros(K); Ps=[np.zeros((F,T)) for _ in range(len(st)-1)]
    mask=np.ones(K,bool)
    if only is not None:
        mask[:]=False; mask[st[only]:st[only+1]]=True
    m=None
    for t in range(T):
        v=V[:,t]
        if v.max()<=0: h=None; continue
        if h is None:
            h=np.full(K,np.sqrt(v.mean()/K))
            if rel: h=h/W.sum(0)*W.sum(0).mean()
        elif rel and m is not None: h=np.maximum(h,floor*(h/m).max()*m)
        else: h=np.maximum(h,floor*h.max())
        cs=W.sum(0)
        for _ in range(iters):
            wh=np.maximum(W@h,1.2e-7)
            if beta==1: num=W.T@(v/wh); den=cs
            else: num=W.T@(v*wh**(beta-2)); den=W.T@(wh**(beta-1))
            h=h*(num/np.maximum(den,1.2e-7))**gamma
        Wm=W
        r=v/np.maximum(W@h,1.2e-7)
        A=rho*A+W*np.outer(r,h); B=rho*B+h
        lam=c*B.mean()+1e-30
        Wn=(A+lam*W0)/(B+lam)
        W=np.where(mask[None,:],Wn,W0)
        if post: Wm=W
        if Wr is not None: Wm=Wr*np.divide(Wm,W0,out=np.ones_like(W0),where=W0>0)
        if rel: m=h+1e-30 if m is None else mrho*m+(1-mrho)*h
        H[:,t]=h
        for s in range(len(st)-1):
            Ps[s][:,t]=Wm[:,st[s]:st[s+1]]@h[st[s]:st[s+1]]
    drift=[np.linalg.norm(W[:,st[s]:st[s+1]]-W0[:,st[s]:st[s+1]])/np.linalg.norm(W0[:,st[s]:st[s+1]]) for s in range(len(st)-1)]
    return H,Ps,drift

def run_adapt(split='val', p=2.0, **kw):
    res=[]; dr=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        H,Ps,drift=stream_adapt(V,W,st,**kw); dr+=drift
        res+=score(sc,split,names,x,refs,X,[q**p for q in Ps])
    r=report(f"adapt {split} p={p} {kw}", res)
    print("   final ||W-W0||/||W0|| per source: "+" ".join(f"{d:.2f}" for d in dr), flush=True)
    return r

def fitpair(sc, names, ratio=(1,1)):
    """The two fit parts, trimmed to a common length, the second scaled to the first's
    RMS (0 dB); with ratio (u, d) != (1, 1), both resampled by u/d first (scipy
    resample_poly: played at the same rate, tempo and pitch change by d/u)."""
    a,b=[fitspec(sc,n) for n in names]
    if ratio[0]!=ratio[1]:
        import scipy.signal
        a,b=[scipy.signal.resample_poly(q,*ratio) for q in (a,b)]
    L=min(len(a),len(b)); a=a[:L]; b=b[:L]
    return a, b*np.sqrt((a**2).mean()/(b**2).mean())

def fitmix(sc, names, shifts=(0,)):
    """The two fit parts at 0 dB (fitpair), the second circularly shifted by each
    shift (a fraction of its length): a training mixture per shift, concatenated."""
    a,b=fitpair(sc,names); L=len(a)
    srcs=[[],[]]
    for sh in shifts:
        bb=np.roll(b,int(sh*L)); srcs[0].append(a); srcs[1].append(bb)
    return [np.concatenate(s) for s in srcs]

def learn_recon(sc, names, W, st, shifts=(0,1/3,2/3), iters=100, proj=None, obj='source', step=0.5, adapt=None):
    """Discriminative reconstruction bases (after Weninger, Le Roux, Hershey & Schuller
    2014): the activations that the streaming projection with the given bases W finds
    on training mixtures of the fit parts are kept, and each source's reconstruction
    bases W'_s (initialised at W_s) are fitted by KL multiplicative updates so that
    W'_s h_s approximates that source's true magnitude |S_s| (obj 'source'), or so that
    the Wiener-filtered mixture (W'_s h_s)^2 / sum_j (W'_j h_j)^2 * |X| does (obj 'wiener',
    multiplicative updates from the gradient's positive and negative parts, to the power
    step). With adapt (stream_adapt's arguments), the activations come from the adaptive
    projection."""
    proj=proj or {}
    srcs=fitmix(sc,names,shifts); n,hop=sc['fft_size'],sc['hop']
    Xm=sepdref.stft(srcs[0]+srcs[1],n,hop); V=np.abs(Xm)
    if obj=='psa':
        # the phase-sensitive target |S_s| cos(angle S_s - angle X) = Re(S_s X*) / |X|:
        # sum_s ||S_s - M_s X||^2 over complex STFTs equals sum_s ||target_s - M_s |X| ||^2
        # plus a constant (Erdogan, Hershey, Watanabe & Le Roux 2015)
        S=[np.real(sepdref.stft(s,n,hop)*np.conj(Xm))/np.maximum(V,1e-12) for s in srcs]
    else:
        S=[np.abs(sepdref.stft(s,n,hop)) for s in srcs]
    if adapt is None: H=stream_b(V,W,**proj)
    else: H,_,_=stream_adapt(V,W,st,**proj,**adapt)
    Wr=[W[:,st[s]:st[s+1]].copy() for s in range(2)]; Hs=[H[st[s]:st[s+1]] for s in range(2)]
    if obj=='source':
        for s in range(2):
            for _ in range(iters):
                wh=np.maximum(Wr[s]@Hs[s],1e-12)
                Wr[s]*=((S[s]/wh)@Hs[s].T)/np.maximum(Hs[s].sum(1)[None,:],1e-12)
    elif obj in ('wienerl2','psa'):
        Wr=fit_wienerl2(Wr,Hs,V,S,iters,step)
    else:
        # minimise sum_s KL(S_s | M_s V), M_s = Q_s / sum_j Q_j, Q_j = (W'_j h_j)^2:
        # its gradient in Y_j = W'_j h_j is (2 / Y_j) (M_j (S_A + S_B) - S_j), so
        # W'_j <- W'_j * [((S_j / Y_j) H_j^T) / ((M_j (S_A + S_B) / Y_j) H_j^T)]^step
        eps=1e-12; Ssum=S[0]+S[1]
        W0r=[w.copy() for w in Wr]
        for _ in range(iters):
            Y=[np.maximum(Wr[s]@Hs[s],eps) for s in range(2)]; Q=[y**2 for y in Y]; D=np.maximum(Q[0]+Q[1],eps)
            for j in range(2):
                M=Q[j]/D
                Wr[j]*=(((S[j]/Y[j])@Hs[j].T+eps)/((M*Ssum/Y[j])@Hs[j].T+eps))**step
    return Wr

def fit_wienerl2(Wr, P, V, S, iters, step):
    """Fits the two sources' reconstruction bases Wr (updated in place and returned) so
    that the Wiener-filtered mixture (Wr_s P_s)^2 / sum_j (Wr_j P_j)^2 * V matches S_s in
    squared error, sum_s ||S_s - M_s V||^2 (closer to SDR, which weighs bins by energy):
    the gradient in Y_j = Wr_j P_j is (4 V M_j / Y_j) [(M_j V + sum_s M_s S_s) - (S_j + V
    sum_s M_s^2)], and each update takes the ratio of its negative to its positive part,
    to the power step."""
    e=1e-12
    # a target may be negative (psa): its negative part moves to the other side
    Sp=[np.maximum(q,0) for q in S]; Sn=[np.maximum(-q,0) for q in S]
    for _ in range(iters):
        Y=[np.maximum(Wr[s]@P[s],e) for s in range(2)]; Q=[y**2 for y in Y]; D=np.maximum(Q[0]+Q[1],e)
        M=[q/D for q in Q]; MM=M[0]**2+M[1]**2
        MSp=M[0]*Sp[0]+M[1]*Sp[1]; MSn=M[0]*Sn[0]+M[1]*Sn[1]
        for j in range(2):
            g=V*M[j]/Y[j]
            Wr[j]*=((((Sp[j]+V*MM+MSn)*g)@P[j].T+e)/(((M[j]*V+MSp+Sn[j])*g)@P[j].T+e))**step
    return Wr

def recon_cached(sc, names, W, st, **kw):
    """learn_recon, cached in WORK/cand-cache by its arguments."""
    os.makedirs(f"{WORK}/cand-cache", exist_ok=True)
    key=re.sub(r'[^A-Za-z0-9_.=,-]','',repr(sorted(kw.items())))
    fn=f"{WORK}/cand-cache/{sc['name']}-recon-{key}.npy"
    if os.path.exists(fn): return list(np.load(fn))
    Wr=learn_recon(sc,names,W,st,**kw); np.save(fn,np.array(Wr)); return Wr

def run_recon(split='val', p=2.0, proj=None, adapt=None, **kw):
    """Masks from the reconstruction bases W' of learn_recon on the activations of the
    given bases W; with adapt, W adapts as in stream_adapt and the masks use
    W' o (W_t / W0) (the same relative drift)."""
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        Wr=recon_cached(sc,names,W,st,proj=proj,adapt=adapt,**kw)
        if adapt is None:
            H=stream_b(V,W,**(proj or {}))
            P=[(Wr[s]@H[st[s]:st[s+1]])**p for s in range(2)]
        else:
            _,Ps,_=stream_adapt(V,W,st,Wr=np.concatenate(Wr,1),**(proj or {}),**adapt)
            P=[q**p for q in Ps]
        res+=score(sc,split,names,x,refs,X,P)
    return report(f"recon {split} p={p} proj={proj} adapt={adapt} {kw}", res)

def stream_incoh(V,W,st,iters=10,floor=0.03,lam=0.3,eps=1e-3):
    """KL projection plus lam * sum_f (W_A h_A)_f (W_B h_B)_f / (v_f + eps mean v): the
    penalty's gradient W_A^T (W_B h_B / (v + e)) (>= 0) joins the denominator."""
    F,K=W.shape; T=V.shape[1]; H=np.zeros((K,T)); cs=W.sum(0); h=None
    WA=W[:,st[0]:st[1]]; WB=W[:,st[1]:st[2]]
    for t in range(T):
        v=V[:,t]
        if v.max()<=0: h=None; continue
        if h is None: h=np.full(K,np.sqrt(v.mean()/K))
        else: h=np.maximum(h,floor*h.max())
        iv=1/(v+eps*v.mean())
        for _ in range(iters):
            ya=WA@h[st[0]:st[1]]; yb=WB@h[st[1]:st[2]]
            wh=np.maximum(ya+yb,1e-12)
            num=W.T@(v/wh)
            den=cs+lam*np.concatenate([WA.T@(yb*iv),WB.T@(ya*iv)])
            h=h*num/den
        H[:,t]=h
    return H

def run_incoh(split='val', p=2.0, **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        H=stream_incoh(V,W,st,**kw)
        P=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**p for s in range(2)]
        res+=score(sc,split,names,x,refs,X,P)
    return report(f"incoherence {split} p={p} {kw}", res)


def run_snr(split='val', dbs=(-6, 6)):
    """best and beta 0.5 gamma 1 on the split's sources remixed at A/B = db (B scaled),
    SDR minus the default prototype's (no scikit-learn baseline for these mixtures):
    whether the reconstruction bases, learned on 0 dB mixtures, hold at other levels."""
    def sdrs(sc,x,refs,X,P):
        den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
        ests=[sepdref.istft(m*X,len(x),sc['fft_size'],sc['hop']) for m in M]
        return mir_eval.separation.bss_eval_sources(np.array(refs),np.array(ests),compute_permutation=False)[0]
    for db in dbs:
        g=10**(-db/20); d1=[]; d2=[]
        for sc in man['scenarios']:
            names,x,refs,W,st,X=load(sc,split)
            refs=[refs[0],refs[1]*g]; x=refs[0]+refs[1]; X=sepdref.stft(x,sc['fft_size'],sc['hop']); V=np.abs(X)
            H=stream(V,W); P0=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**2 for s in range(2)]
            Wr=recon_cached(sc,names,W,st,obj='wienerl2',iters=300,proj=B05,adapt=dict(rho=0.99,c=5))
            _,Ps,_=stream_adapt(V,W,st,Wr=np.concatenate(Wr,1),**B05,rho=0.99,c=5)
            Hb=stream_b(V,W,**B05); Pb=[(W[:,st[s]:st[s+1]]@Hb[st[s]:st[s+1]])**2 for s in range(2)]
            s0=sdrs(sc,x,refs,X,P0)
            d1+=list(sdrs(sc,x,refs,X,[q**2 for q in Ps])-s0); d2+=list(sdrs(sc,x,refs,X,Pb)-s0)
        report(f"{split} remixed at A/B {db:+d} dB, best minus default", d1)
        report(f"{split} remixed at A/B {db:+d} dB, beta 0.5 gamma 1 minus default", d2)


def run_longrun(split='val', R=5):
    """best and adapt (rho 0.98, c 5, beta 0.5 gamma 1) on the split's mixture repeated R
    times, each repetition scored alone, SDR minus the default prototype's: whether the
    adapted bases keep drifting (and the final ||W - W0|| / ||W0|| per source)."""
    out={k:[[] for _ in range(R)] for k in ('best','adapt')}
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); L=len(x)
        xx=np.tile(x,R); rr=[np.tile(r,R) for r in refs]; XX=sepdref.stft(xx,sc['fft_size'],sc['hop']); V=np.abs(XX)
        H=stream(V,W); P0=[(W[:,st[s]:st[s+1]]@H[st[s]:st[s+1]])**2 for s in range(2)]
        Wr=recon_cached(sc,names,W,st,obj='wienerl2',iters=300,proj=B05,adapt=dict(rho=0.99,c=5))
        _,Pb,dr=stream_adapt(V,W,st,Wr=np.concatenate(Wr,1),**B05,rho=0.99,c=5)
        _,Pa,dr2=stream_adapt(V,W,st,**B05,rho=0.98,c=5)
        print(sc['name'],f'drift after {R} repetitions, best / adapt:',[f"{d:.2f}" for d in dr],[f"{d:.2f}" for d in dr2],flush=True)
        def est(P):
            den=sum(P); M=[np.divide(q,den,out=np.full_like(q,.5),where=den>0) for q in P]
            return [sepdref.istft(m*XX,len(xx),sc['fft_size'],sc['hop']) for m in M]
        e0=est(P0); eb=est([q**2 for q in Pb]); ea=est([q**2 for q in Pa])
        for i in range(R):
            seg=slice(i*L,(i+1)*L); ref=np.array([r[seg] for r in rr])
            s0=mir_eval.separation.bss_eval_sources(ref,np.array([e[seg] for e in e0]),compute_permutation=False)[0]
            for k,e in (('best',eb),('adapt',ea)):
                s1=mir_eval.separation.bss_eval_sources(ref,np.array([q[seg] for q in e]),compute_permutation=False)[0]
                out[k][i]+=list(s1-s0)
    for k in out:
        for i in range(R): report(f"{k} minus default, {split} mixture repeated {R}x, repetition {i+1}",out[k][i])


B05 = dict(beta=0.5, gamma=1.0)
AD5 = dict(rho=0.99, c=5)


# Third round (issue 11): what the reconstruction side and the analysis side can still add.
def lagstack(H, lags):
    K,T=H.shape; out=[]
    for l in lags:
        s=np.zeros_like(H)
        if l>0: s[:,l:]=H[:,:T-l]
        elif l<0: s[:,:T+l]=H[:,-l:]
        else: s=H.copy()
        out.append(s)
    return np.concatenate(out,0)

def design(H, st, s, lags, cross):
    return lagstack(H if cross else H[st[s]:st[s+1]], lags)

def dinit(W, st, s, lags, cross, eps):
    blocks=[]
    for l in lags:
        if cross:
            blocks.append(np.concatenate([W[:,st[j]:st[j+1]]*(1.0 if (j==s and l==0) else eps) for j in range(len(st)-1)],1))
        else:
            blocks.append(W[:,st[s]:st[s+1]]*(1.0 if l==0 else eps))
    return np.concatenate(blocks,1)

def learn_dec(sc, names, W, st, lags=(0,), cross=False, eps=0.05, iters=300, proj=None, adapt=None, shifts=(0,1/3,2/3), step=0.5, snrs=(0,), ana=None):
    proj=proj or {}
    Vs=[];Ss=[];Hs=[]
    for db in snrs:
        srcs=fitmix(sc,names,shifts)
        srcs=[srcs[0]*10**(db/40), srcs[1]*10**(-db/40)]
        n,hop=sc['fft_size'],sc['hop']
        S=[np.abs(sepdref.stft(s,n,hop)) for s in srcs]; V=np.abs(sepdref.stft(srcs[0]+srcs[1],n,hop))
        if adapt is None: H=stream_b(V,W,**proj)
        else: H,_,_=stream_adapt(V,W,st,**proj,**adapt)
        Vs.append(V); Ss.append(S); Hs.append(H)
    V=np.concatenate(Vs,1); S=[np.concatenate([x[s] for x in Ss],1) for s in range(2)]; H=np.concatenate(Hs,1)
    P=[design(H,st,s,lags,cross) for s in range(2)]
    Wd=[dinit(W,st,s,lags,cross,eps) for s in range(2)]
    return fit_wienerl2(Wd,P,V,S,iters,step)

def dec_cached(sc,names,W,st,**kw):
    os.makedirs(f"{WORK}/cand-cache", exist_ok=True)
    key=re.sub(r'[^A-Za-z0-9_.=,-]','',repr(sorted(kw.items())))
    fn=f"{WORK}/cand-cache/{sc['name']}-dec-{key}.npz"
    if os.path.exists(fn):
        z=np.load(fn); return [z['a'],z['b']]
    Wd=learn_dec(sc,names,W,st,**kw); np.savez(fn,a=Wd[0],b=Wd[1]); return Wd

def apply_adapt(V,W0,st,Wd,lags,cross,iters=10,floor=0.03,beta=1.0,gamma=None,rho=0.99,c=5.0):
    """stream_adapt with the decoder applied per frame with the drift W_t/W0 of each column's basis."""
    F,K=W0.shape; T=V.shape[1]; h=None
    if gamma is None: gamma = 1/(2-beta) if beta<1 else 1.0
    W=W0.copy(); A=np.zeros_like(W0); B=np.zeros(K); Ys=[np.zeros((F,T)) for _ in range(2)]
    L=max(max(lags),0); hist=[np.zeros(K) for _ in range(L+1)]
    R0=np.ones_like(W0)
    for t in range(T):
        v=V[:,t]
        if v.max()<=0:
            h=None; hist=[np.zeros(K)]+hist[:-1]; continue
        if h is None: h=np.full(K,np.sqrt(v.mean()/K))
        else: h=np.maximum(h,floor*h.max())
        cs=W.sum(0)
        for _ in range(iters):
            wh=np.maximum(W@h,1.2e-7)
            if beta==1: num=W.T@(v/wh); den=cs
            else: num=W.T@(v*wh**(beta-2)); den=W.T@(wh**(beta-1))
            h=h*(num/np.maximum(den,1.2e-7))**gamma
        r=v/np.maximum(W@h,1.2e-7)
        A=rho*A+W*np.outer(r,h); B=rho*B+h
        lam=c*B.mean()+1e-30
        W=(A+lam*W0)/(B+lam)
        R=np.divide(W,W0,out=np.ones_like(W0),where=W0>0)
        hist=[h.copy()]+hist[:-1]
        for s in range(2):
            blk=(lambda x: x) if cross else (lambda x: x[...,st[s]:st[s+1]])
            Rb=np.concatenate([blk(R) for l in lags],1)
            phi=np.concatenate([blk(hist[l]) for l in lags])
            Ys[s][:,t]=(Wd[s]*Rb)@phi
    return Ys

def run_dec(split='val', p=2.0, proj=None, adapt=None, lags=(0,), cross=False, **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        Wd=dec_cached(sc,names,W,st,proj=proj,adapt=adapt,lags=lags,cross=cross,**kw)
        if adapt is None:
            H=stream_b(V,W,**(proj or {}))
            P=[(Wd[s]@design(H,st,s,lags,cross))**p for s in range(2)]
        else:
            Ys=apply_adapt(V,W,st,Wd,lags,cross,**(proj or {}),**adapt)
            P=[y**p for y in Ys]
        res+=score(sc,split,names,x,refs,X,P)
    return report(f"dec {split} lags={lags} cross={cross} proj={proj} adapt={adapt} {kw}", res)

def fitdata(sc, names, shifts=(0,1/3,2/3)):
    srcs=fitmix(sc,names,shifts); n,hop=sc['fft_size'],sc['hop']
    S=[np.abs(sepdref.stft(s,n,hop)) for s in srcs]; V=np.abs(sepdref.stft(srcs[0]+srcs[1],n,hop))
    return S,V

def learn_ana(sc,names,W,st,beta=0.5,iters=100,oit=30,step=1.0):
    S,V=fitdata(sc,names)
    Hs=[stream_b(S[s],W[:,st[s]:st[s+1]],iters=oit,beta=beta,gamma=1.0) for s in range(2)]
    H=np.concatenate(Hs,0)
    Wa=W.copy(); e=1e-12
    for _ in range(iters):
        wh=np.maximum(Wa@H,e)
        Wa*=(((V*wh**(beta-2))@H.T+e)/((wh**(beta-1))@H.T+e))**step
    return Wa

def run_ana(split='val', p=2.0, proj=None, adapt=None, recon=True, **kw):
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        os.makedirs(f"{WORK}/cand-cache", exist_ok=True)
        key=re.sub(r'[^A-Za-z0-9_.=,-]','',repr(sorted(kw.items())))
        fn=f"{WORK}/cand-cache/{sc['name']}-ana-{key}.npy"
        if os.path.exists(fn): Wa=np.load(fn)
        else: Wa=learn_ana(sc,names,W,st,**kw); np.save(fn,Wa)
        if recon:
            Wd=dec_cached(sc,names,Wa,st,proj=proj,adapt=adapt,ana=key)
        else:
            Wd=[Wa[:,st[s]:st[s+1]] for s in range(2)]
        if adapt is None:
            H=stream_b(V,Wa,**(proj or {}))
            P=[(Wd[s]@H[st[s]:st[s+1]])**p for s in range(2)]
        else:
            Ys=apply_adapt(V,Wa,st,Wd,(0,),False,**(proj or {}),**adapt)
            P=[y**p for y in Ys]
        res+=score(sc,split,names,x,refs,X,P)
    return report(f"ana {split} recon={recon} proj={proj} adapt={adapt} {kw}", res)


# Fourth round (issue 11): training the analysis side, and W' from other material.
def h0_from(Hs, V, floor=0.03):
    """The warm start each frame got in a streaming run that output Hs: the previous
    frame's activations floored, or sqrt(mean(v)/K) after silence and at the start."""
    K,T=Hs.shape; H0=np.zeros_like(Hs)
    for t in range(T):
        if t==0 or V[:,t-1].max()<=0: H0[:,t]=np.sqrt(V[:,t].mean()/K)
        else: hp=Hs[:,t-1]; H0[:,t]=np.maximum(hp,floor*hp.max())
    return H0

def learn_unfold(sc, names, W, st, Wr, steps=40, lr=0.01, refresh=20, mode='full'):
    """Analysis bases W_a trained through the projection (deep unfolding, Hershey, Le Roux
    & Weninger 2014, with the bases tied across iterations): on the fit mixtures
    (fitdata), the 10 beta-0.5 gamma-1 updates of every frame from the warm start the
    streaming projection gave it (h0_from, refreshed every `refresh` steps; the gradient
    does not go through it) are unrolled, and log W_a is moved by Adam (learning rate lr)
    down the gradient of best's objective sum_s ||S_s - M_s V||^2 with the masks from
    best's W' (kept fixed). mode 'gain': W_a = diag(exp u_s) W_s per source, 2 F
    parameters instead of F K. Needs python3-torch. Returns W_a."""
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    S_np,V_np=fitdata(sc,names); tot=sum((q**2).sum() for q in S_np)
    if mode=='full':
        la=torch.tensor(np.log(np.maximum(W,1e-30)),requires_grad=True); wa=lambda: torch.exp(la)
    else:
        la=torch.zeros((W.shape[0],len(st)-1),dtype=torch.float64,requires_grad=True)
        src=np.concatenate([[s]*(st[s+1]-st[s]) for s in range(len(st)-1)]); Wt=torch.tensor(W)
        wa=lambda: Wt*torch.exp(la[:,src])
    opt=torch.optim.Adam([la],lr=lr); V=torch.tensor(V_np); S=[torch.tensor(q) for q in S_np]
    Wrt=[torch.tensor(w) for w in Wr]
    for it in range(steps):
        if it%refresh==0:
            H0=torch.tensor(h0_from(stream_b(V_np,wa().detach().numpy(),**B05),V_np))
        opt.zero_grad(); Wa=wa(); h=H0
        for _ in range(10):
            wh=torch.clamp(Wa@h,min=1.2e-7)
            h=h*(Wa.T@(V*wh**-1.5))/torch.clamp(Wa.T@(wh**-0.5),min=1.2e-7)
        Y=[torch.clamp(Wrt[s]@h[st[s]:st[s+1]],min=1e-12)**2 for s in range(2)]; D=torch.clamp(Y[0]+Y[1],min=1e-12)
        L=sum(((S[s]-Y[s]/D*V)**2).sum() for s in range(2))/tot
        L.backward(); opt.step()
        if it%refresh==0 or it==steps-1:
            print(f"   {sc['name']} step {it}: objective {L.item():.4f} on fit, {unfold_obj(sc,wa().detach().numpy(),Wr,st):.4f} on val",flush=True)
    return wa().detach().numpy()

def unfold_obj(sc, Wa, Wr, st):
    """learn_unfold's objective on the val mixture (warm starts from a streaming run):
    whether what it learns carries to other material of the same sources."""
    names,x,refs,W,_,X=load(sc,'val'); V=np.abs(X)
    S=[np.abs(sepdref.stft(r,sc['fft_size'],sc['hop'])) for r in refs]
    h=h0_from(stream_b(V,Wa,**B05),V)
    for _ in range(10):
        wh=np.maximum(Wa@h,1.2e-7); h=h*(Wa.T@(V*wh**-1.5))/np.maximum(Wa.T@(wh**-0.5),1.2e-7)
    Y=[np.maximum(Wr[s]@h[st[s]:st[s+1]],1e-12)**2 for s in range(2)]; D=np.maximum(Y[0]+Y[1],1e-12)
    return sum(((S[s]-Y[s]/D*V)**2).sum() for s in range(2))/sum((q**2).sum() for q in S)

def run_unfold(split='val', p=2.0, only=None, adapt=True, **kw):
    """best with the projection's (and adapt's prior's) bases replaced by learn_unfold's
    (on the scenario named only, if given); without adapt when adapt is False."""
    res=[]
    for sc in man['scenarios']:
        if only and sc['name']!=only: continue
        names,x,refs,W,st,X=load(sc,split); V=np.abs(X)
        Wr=recon_cached(sc,names,W,st,obj='wienerl2',iters=300,proj=B05,adapt=AD5)
        key=re.sub(r'[^A-Za-z0-9_.=,-]','',repr(sorted(kw.items())))
        fn=f"{WORK}/cand-cache/{sc['name']}-unfold-{key}.npy"
        if os.path.exists(fn): Wa=np.load(fn)
        else: Wa=learn_unfold(sc,names,W,st,Wr,**kw); np.save(fn,Wa)
        if adapt: _,Ps,_=stream_adapt(V,Wa,st,Wr=np.concatenate(Wr,1),**B05,**AD5)
        else: H=stream_b(V,Wa,**B05); Ps=[Wr[s]@H[st[s]:st[s+1]] for s in range(2)]
        res+=score(sc,split,names,x,refs,X,[q**p for q in Ps])
    return report(f"unfold {split} p={p} adapt={adapt} {kw}", res)

def wienerl2(W, st, V, S, H, iters=300, step=0.5):
    """learn_recon's 'wienerl2' fit of W' (from W) on given material."""
    return fit_wienerl2([W[:,st[s]:st[s+1]].copy() for s in range(2)],[H[st[s]:st[s+1]] for s in range(2)],V,S,iters,step)

def run_augment(split='val', ratios=((16,17),(1,1),(17,16))):
    """best with W' fitted on the fit mixtures at three speeds (scipy resample_poly by
    each ratio, both sources alike: pitch and tempo -6 %, 0, +6 %), so that its training
    activations come from material the bases were not fitted on, as at run time."""
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); n,hop=sc['fft_size'],sc['hop']
        Vs,Ss,Hs=[],[],[]
        for ratio in ratios:
            a,b=fitpair(sc,names,ratio); L=len(a)
            for sh in (0,1/3,2/3):
                bb=np.roll(b,int(sh*L)); S=[np.abs(sepdref.stft(q,n,hop)) for q in (a,bb)]
                V=np.abs(sepdref.stft(a+bb,n,hop)); H,_,_=stream_adapt(V,W,st,**B05,**AD5)
                Vs.append(V); Ss.append(S); Hs.append(H)
        Wr=wienerl2(W,st,np.concatenate(Vs,1),[np.concatenate([q[s] for q in Ss],1) for s in range(2)],np.concatenate(Hs,1))
        _,Ps,_=stream_adapt(np.abs(X),W,st,Wr=np.concatenate(Wr,1),**B05,**AD5)
        r=score(sc,split,names,x,refs,X,[q**2 for q in Ps]); res+=r
        print(f"   {sc['name']}: "+" ".join(f"{v:+.2f}" for v in r),flush=True)
    return report(f"augment {split} ratios={ratios}", res)

def synth_h(K, T, rng, seg=(5,40), nact=2.0, pact=0.8, decay=(0.0,0.1)):
    """Note-like activations, K x T: segments of 5-40 frames, each (with probability
    pact) 1 + Poisson(nact - 1) components at log-normal gains decaying exponentially."""
    H=np.zeros((K,T)); t=0
    while t<T:
        L=int(rng.integers(seg[0],seg[1]+1))
        if rng.random()<pact:
            n=min(K,1+rng.poisson(max(nact-1,0))); idx=rng.choice(K,n,replace=False)
            env=rng.lognormal(0,1,n)[:,None]*np.exp(-rng.uniform(*decay)*np.arange(L))[None,:]
            H[idx,t:t+L]=env[:,:min(L,T-t)]
        t+=L
    return H

def run_synth(split='val', T=6000, seed=0, **kw):
    """best's W' fitted from the bases alone: each source's magnitude W_s h_s with synth_h
    activations, 0 dB, mixed with uniformly random phases (no training audio)."""
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split); rng=np.random.default_rng(seed)
        S=[W[:,st[s]:st[s+1]]@synth_h(st[s+1]-st[s],T,rng,**kw) for s in range(2)]
        S[1]*=np.sqrt((S[0]**2).sum()/max((S[1]**2).sum(),1e-30))
        V=np.abs(sum(q*np.exp(2j*np.pi*rng.random(q.shape)) for q in S))
        H,_,_=stream_adapt(V,W,st,**B05,**AD5); Wr=wienerl2(W,st,V,S,H)
        _,Ps,_=stream_adapt(np.abs(X),W,st,Wr=np.concatenate(Wr,1),**B05,**AD5)
        r=score(sc,split,names,x,refs,X,[q**2 for q in Ps]); res+=r
        print(f"   {sc['name']}: "+" ".join(f"{v:+.2f}" for v in r),flush=True)
    return report(f"synth {split} T={T} {kw}", res)


# ---- the scale of the bases (sepd learn keeps NMF's, README "Learning bases") ----

def run_relfloor(split='val', unit=False, **kw):
    """sepd's default (stream_adapt, beta 0.5, gamma 1, adapt 5) or with the scale-free floor (rel), with
    the committed bases as they are or every basis at unit L1 norm (unit)."""
    res=[]
    for sc in man['scenarios']:
        names,x,refs,W,st,X=load(sc,split)
        if unit: W=W/W.sum(0)
        _,Ps,_=stream_adapt(np.abs(X),W,st,**B05,**AD5,**kw)
        res+=score(sc,split,names,x,refs,X,[q**2 for q in Ps])
    return report(f"relfloor {split} unit={unit} {kw}", res)


CANDIDATES = {
    "default": lambda s: run(s),
    "floor": lambda s: [run(s, floor=f) for f in (0.01, 0.1, 0.2)] + [run(s, floor=0.1, iters=20)],
    "smooth": lambda s: [run(s, smooth=l) for l in (0.5, 2)],
    "lookahead": lambda s: run(s, look=1),
    "recursive": lambda s: run(s, alpha=0.5),
    "logsparse": lambda s: [run2(s, lam_log=l) for l in (0.01, 0.05)],
    "groupsparse": lambda s: [run2(s, lam_grp=l) for l in (0.5, 2)],
    "reproject": lambda s: [reproj(s), reproj(s, p1=1)],
    "stack": lambda s: run_stack(s),
    "stack4": lambda s: run_stack(s, C=4, ITER=150),
    "exponent": lambda s: [run3(s, beta=0.5), run3(s, beta=0.5, gamma=1.0), run3(s, beta=0.5, gamma=1.0, iters=20),
                           run3(s, beta=0.25, gamma=1.0), run3(s, beta=0.0, gamma=1.0)],
    "samebases": lambda s: [run3(s, stack=m) for m in ("prev", "next", "both")],
    "sourcelevel": lambda s: run3(s, srcsmooth=0.5),
    "prune": lambda s: [runp(s, tau=t) for t in (0.05, 0.1, 0.2)] + [runp(s, tau=0.1, post=0)],
    "weighting": lambda s: [runw(s, a=a) for a in (0.25, 0.5, 0.6, 0.75, 1.0)] + [runw(s, a=1.0, mode="disc"),
                            runw(s, a=0.5, beta=0.5, gamma=1.0), runw(s, a=0.25, beta=0.5, gamma=1.0)],
    "consistency": lambda s: [consist(s, iters_c=1, mag=True), consist(s, iters_c=3, mag=True)],
    "oraclenmf": lambda s: oracle_nmf(s),
    "stackgap": lambda s: [run_stackgap(s, offs=o, **kw) for kw in ({}, B05) for o in ((-2, 0), (-4, 0))],
    "adapt": lambda s: [run_adapt(s, c=c) for c in (1, 3, 10, 30)]
                       + [run_adapt(s, rho=r, c=c) for r in (0.98, 0.995, 0.999) for c in (5, 10, 20)]
                       + [run_adapt(s, c=c, **B05) for c in (5, 10, 20)] + [run_adapt(s, rho=0.98, c=c, **B05) for c in (5, 10)],
    "recon": lambda s: [run_recon(s), run_recon(s, iters=30), run_recon(s, proj=B05), run_recon(s, obj="wiener", iters=30),
                        run_recon(s, obj="wienerl2"), run_recon(s, adapt=dict(rho=0.98, c=10)),
                        run_recon(s, proj=B05, adapt=dict(rho=0.99, c=5)), run_recon(s, proj=B05, adapt=dict(rho=0.98, c=5)),
                        run_recon(s, obj="wienerl2", proj=B05, adapt=dict(rho=0.99, c=5)),
                        run_recon(s, obj="wienerl2", proj=B05, adapt=dict(rho=0.98, c=5))],
    "incoherence": lambda s: [run_incoh(s, lam=l) for l in (0.1, 0.3, 1)],
    "snr": lambda s: run_snr(s),
    "longrun": lambda s: run_longrun(s),
    "best": lambda s: run_recon(s, obj="wienerl2", iters=300, proj=B05, adapt=dict(rho=0.99, c=5)),
    "context": lambda s: [run_dec(s, proj=B05, adapt=AD5), run_dec(s, proj=B05, adapt=AD5, lags=(0, 1))],
    "crossrecon": lambda s: run_dec(s, proj=B05, adapt=AD5, cross=True),
    "snrmix": lambda s: run_dec(s, proj=B05, adapt=AD5, snrs=(-6, 0, 6)),
    "analysis": lambda s: [run_ana(s, proj=B05, recon=False), run_ana(s, proj=B05, adapt=AD5, recon=False),
                           run_ana(s, proj=B05, adapt=AD5)],
    "unfold": lambda s: [run_unfold(s), run_unfold(s, adapt=False)],
    "unfoldgain": lambda s: run_unfold(s, mode="gain", steps=60, lr=0.03, only="talkers16"),
    "augment": lambda s: run_augment(s),
    "synth": lambda s: run_synth(s),
    "relfloor": lambda s: [run_relfloor(s, unit=u, rel=r) for r in (False, True) for u in (False, True)],
    "psa": lambda s: run_recon(s, obj="psa", iters=300, proj=B05, adapt=AD5),
    "recon6": lambda s: run_recon(s, obj="wienerl2", iters=300, proj=B05, adapt=AD5, shifts=tuple(i / 6 for i in range(6))),
}

# Not run without NAME: each learns bases or takes minutes per scenario.
SLOW = {n for n in CANDIDATES if n.startswith("stack")} | {
    "recon", "best", "snr", "longrun", "context", "crossrecon", "snrmix", "analysis",
    "unfold", "unfoldgain", "augment", "synth", "recon6", "psa"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["val", "test"], default="val")
    ap.add_argument("names", nargs="*", default=[n for n in CANDIDATES if n not in SLOW])
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    for n in args.names:
        CANDIDATES[n](args.split)


if __name__ == "__main__":
    main()
