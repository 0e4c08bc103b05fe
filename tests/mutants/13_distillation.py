"""Wrong and right answers for solutions/13_distillation.ipynb (format: tests/test_mutants.py)."""

_BINARY = '''
def binary_distillation_loss(student_logits, teacher_logits, labels, T=2.0, soft_weight=0.5):
    s, t = STUDENT, TEACHER
    p_t = torch.sigmoid(t)
    kl = SOFT
    hard = F.binary_cross_entropy_with_logits(student_logits, labels)
    return soft_weight * FACTOR * kl.mean() + (1 - soft_weight) * hard
'''
_KL = "p_t * (F.logsigmoid(t) - F.logsigmoid(s)) + (1 - p_t) * (F.logsigmoid(-t) - F.logsigmoid(-s))"


def _binary(student="student_logits / T", teacher="teacher_logits.detach() / T", soft=_KL, factor="T**2"):
    return (_BINARY.replace("STUDENT", student).replace("TEACHER", teacher)
            .replace("SOFT", soft).replace("FACTOR", factor))


_SEQ = '''
def sequence_distillation_loss(student_logits, teacher_logits, mask, T=2.0):
BODY
'''

_HINT = '''
class HintLoss(nn.Module):
    def __init__(self, student_dim, teacher_dim):
        super().__init__()
        self.student_dim, self.teacher_dim = student_dim, teacher_dim
        INIT

    def forward(self, student_feats, teacher_feats):
        CHECK
        return LOSS
'''
_HINT_CHECK = '''if student_feats.shape[-1] != self.student_dim or teacher_feats.shape[-1] != self.teacher_dim:
            raise ValueError("feature widths do not match")'''


def _hint(init="self.proj = nn.Linear(student_dim, teacher_dim)", check=_HINT_CHECK,
          loss="F.mse_loss(self.proj(student_feats), teacher_feats.detach())"):
    return _HINT.replace("INIT", init).replace("CHECK", check).replace("LOSS", loss)


_STEP = '''
def distill_step(student, teacher, optimizer, x, y, loss_fn):
BODY
'''
_STEP_OK = '''    teacher.eval()
    with torch.no_grad():
        teacher_logits = teacher(x)
    student.train()
    loss = loss_fn(student(x), teacher_logits, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()'''

_VERDICT = '''
def paired_verdict(baseline, method, higher_is_better=True):
    if len(baseline) != len(method):
        raise ValueError("one score per seed each")
    if len(baseline) < 2:
        raise ValueError("need 2 seeds")
    sign = SIGN
    d = [sign * (m - b) for b, m in zip(baseline, method)]
    se = SE
    mean = statistics.mean(d)
    if mean > LIMIT:
        return "better"
    if mean < -LIMIT:
        return "worse"
    return None
'''


def _verdict(sign="1.0 if higher_is_better else -1.0", se="statistics.stdev(d) / math.sqrt(len(d))", limit="2 * se"):
    return _VERDICT.replace("SIGN", sign).replace("SE", se).replace("LIMIT", limit)


MUTANTS = [
    # Task 1: binary distillation loss
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "wrong", "name": "missing T²",
     "code": _binary(factor="1.0"), "message": "missing the T² factor"},
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "wrong", "name": "KL direction reversed",
     "code": _binary(soft="torch.sigmoid(s) * (F.logsigmoid(s) - F.logsigmoid(t)) + (1 - torch.sigmoid(s)) * "
                          "(F.logsigmoid(-s) - F.logsigmoid(-t))"),
     "message": "KL direction is reversed"},
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "wrong", "name": "temperature applied to the teacher only",
     "code": _binary(student="student_logits"), "message": "temperature must divide the student's logits"},
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "wrong", "name": "BCE with soft targets instead of KL",
     "code": _binary(soft="F.binary_cross_entropy_with_logits(s, p_t, reduction='none')"),
     "message": "not the KL divergence"},
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "wrong", "name": "log of sigmoid, literally",
     "code": _binary(soft="p_t * (torch.log(p_t) - torch.log(torch.sigmoid(s))) + (1 - p_t) * "
                          "(torch.log(1 - p_t) - torch.log(1 - torch.sigmoid(s)))"),
     "message": "not finite"},
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "wrong", "name": "teacher not detached",
     "code": _binary(teacher="teacher_logits / T"), "message": "gradient reached the teacher"},
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "wrong", "name": "softmax probabilities of the student (not log)",
     "code": _binary(soft="p_t * (F.logsigmoid(t) - torch.sigmoid(s)) + (1 - p_t) * (F.logsigmoid(-t) - torch.sigmoid(-s))"),
     "message": "not close"},
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "right", "name": "2-class softmax and F.kl_div",
     "code": "def binary_distillation_loss(student_logits, teacher_logits, labels, T=2.0, soft_weight=0.5):\n"
             "    two = lambda z: torch.stack([torch.zeros_like(z), z], dim=-1)\n"
             "    log_q = F.log_softmax(two(student_logits) / T, dim=-1)\n"
             "    log_p = F.log_softmax(two(teacher_logits.detach()) / T, dim=-1)\n"
             "    soft = F.kl_div(log_q, log_p, reduction='batchmean', log_target=True) * T * T\n"
             "    hard = (F.softplus(student_logits) - labels * student_logits).mean()\n"
             "    return soft_weight * soft + (1 - soft_weight) * hard"},
    {"task": "t1-binary-distill", "cell": "t1-code", "kind": "right", "name": "soft BCE minus the teacher's entropy",
     "code": "def binary_distillation_loss(student_logits, teacher_logits, labels, T=2.0, soft_weight=0.5):\n"
             "    t = (teacher_logits / T).detach()\n"
             "    p = torch.sigmoid(t)\n"
             "    cross = F.binary_cross_entropy_with_logits(student_logits / T, p, reduction='none')\n"
             "    entropy = F.binary_cross_entropy_with_logits(t, p, reduction='none')\n"
             "    return soft_weight * T**2 * (cross - entropy).mean() + (1 - soft_weight) * "
             "F.binary_cross_entropy_with_logits(student_logits, labels)"},

    # Task 2: token-level distillation with padding
    {"task": "t2-sequence-distill", "cell": "t2-code", "kind": "wrong", "name": "padding counted",
     "code": _SEQ.replace("BODY", "    V = student_logits.shape[-1]\n"
                                  "    s, t = student_logits.reshape(-1, V) / T, teacher_logits.detach().reshape(-1, V) / T\n"
                                  "    return T**2 * F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), "
                                  "reduction='batchmean', log_target=True)"),
     "message": "padded positions were counted"},
    {"task": "t2-sequence-distill", "cell": "t2-code", "kind": "wrong", "name": "batchmean on (B, L, V): divides by B",
     "code": _SEQ.replace("BODY", "    kl = F.kl_div(F.log_softmax(student_logits / T, -1), F.log_softmax(teacher_logits.detach() / T, -1), "
                                  "reduction='none', log_target=True).sum(-1)\n"
                                  "    kl = torch.where(mask, kl, torch.zeros_like(kl))\n"
                                  "    return T**2 * kl.sum() / kl.shape[0]"),
     "message": "divided by the batch size"},
    {"task": "t2-sequence-distill", "cell": "t2-code", "kind": "wrong", "name": "missing T²",
     "code": _SEQ.replace("BODY", "    s, t = student_logits[mask] / T, teacher_logits.detach()[mask] / T\n"
                                  "    return F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), reduction='batchmean', log_target=True)"),
     "message": "T² factor is missing"},
    {"task": "t2-sequence-distill", "cell": "t2-code", "kind": "wrong", "name": "multiplies by the mask (0 * nan)",
     "code": _SEQ.replace("BODY", "    kl = F.kl_div(F.log_softmax(student_logits / T, -1), F.log_softmax(teacher_logits.detach() / T, -1), "
                                  "reduction='none', log_target=True).sum(-1)\n"
                                  "    return T**2 * (kl * mask).sum() / mask.sum()"),
     "message": "instead of multiplying by the mask"},
    {"task": "t2-sequence-distill", "cell": "t2-code", "kind": "wrong", "name": "teacher not detached",
     "code": _SEQ.replace("BODY", "    s, t = student_logits[mask] / T, teacher_logits[mask] / T\n"
                                  "    return T**2 * F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), "
                                  "reduction='batchmean', log_target=True)"),
     "message": "gradient reached the teacher"},
    {"task": "t2-sequence-distill", "cell": "t2-code", "kind": "right", "name": "torch.where over the tokens, by hand",
     "code": _SEQ.replace("BODY", "    m = mask.unsqueeze(-1)\n"
                                  "    s = torch.where(m, student_logits, torch.zeros_like(student_logits)) / T\n"
                                  "    t = torch.where(m, teacher_logits.detach(), torch.zeros_like(teacher_logits)) / T\n"
                                  "    log_p, log_q = t.log_softmax(-1), s.log_softmax(-1)\n"
                                  "    kl = (log_p.exp() * (log_p - log_q)).sum(-1)\n"
                                  "    return T * T * kl[mask].sum() / mask.sum()"),
     },

    # Task 3: hint loss
    {"task": "t3-hint-loss", "cell": "t3-code", "kind": "wrong", "name": "projection created in forward",
     "code": _hint(init="pass", loss="F.mse_loss(nn.Linear(self.student_dim, self.teacher_dim).double()(student_feats), "
                                     "teacher_feats.detach())"),
     "message": "exactly one registered nn.Linear"},
    {"task": "t3-hint-loss", "cell": "t3-code", "kind": "wrong", "name": "projects the teacher instead",
     "code": _hint(init="self.proj = nn.Linear(teacher_dim, student_dim)",
                   loss="F.mse_loss(student_feats, self.proj(teacher_feats.detach()))"),
     "message": "project the student, not the teacher"},
    {"task": "t3-hint-loss", "cell": "t3-code", "kind": "wrong", "name": "teacher features not detached",
     "code": _hint(loss="F.mse_loss(self.proj(student_feats), teacher_feats)"),
     "message": "gradient reached the teacher's features"},
    {"task": "t3-hint-loss", "cell": "t3-code", "kind": "wrong", "name": "sum instead of mean",
     "code": _hint(loss="F.mse_loss(self.proj(student_feats), teacher_feats.detach(), reduction='sum')"),
     "message": "take the mean"},
    {"task": "t3-hint-loss", "cell": "t3-code", "kind": "wrong", "name": "no width check",
     "code": _hint(check="pass"), "message": "ValueError"},
    {"task": "t3-hint-loss", "cell": "t3-code", "kind": "wrong", "name": "mean over the batch of the summed squares",
     "code": _hint(loss="((self.proj(student_feats) - teacher_feats.detach()) ** 2).sum(-1).mean()"),
     "message": "not close"},
    {"task": "t3-hint-loss", "cell": "t3-code", "kind": "right", "name": "no bias, F.linear and a by-hand mean",
     "code": _hint(init="self.projection = nn.Linear(student_dim, teacher_dim, bias=False)",
                   loss="(F.linear(student_feats, self.projection.weight) - teacher_feats.detach()).pow(2).mean()")},

    # Task 4: distillation step with a frozen teacher
    {"task": "t4-frozen-teacher", "cell": "t4-code", "kind": "wrong", "name": "teacher left in train mode",
     "code": _STEP.replace("BODY", _STEP_OK.replace("    teacher.eval()\n", "")), "message": "eval mode"},
    {"task": "t4-frozen-teacher", "cell": "t4-code", "kind": "wrong", "name": "no torch.no_grad for the teacher",
     "code": _STEP.replace("BODY", _STEP_OK.replace("    with torch.no_grad():\n        teacher_logits = teacher(x)",
                                                    "    teacher_logits = teacher(x)")),
     "message": "teacher's logits carry a graph"},
    {"task": "t4-frozen-teacher", "cell": "t4-code", "kind": "wrong", "name": "teacher output detached instead of no_grad",
     "code": _STEP.replace("BODY", _STEP_OK.replace("    with torch.no_grad():\n        teacher_logits = teacher(x)",
                                                    "    teacher_logits = teacher(x).detach()")),
     "message": "gradients enabled"},
    {"task": "t4-frozen-teacher", "cell": "t4-code", "kind": "wrong", "name": "gradients never zeroed",
     "code": _STEP.replace("BODY", _STEP_OK.replace("    optimizer.zero_grad()\n", "")), "message": "zero the gradients"},
    {"task": "t4-frozen-teacher", "cell": "t4-code", "kind": "wrong", "name": "student left in eval mode",
     "code": _STEP.replace("BODY", _STEP_OK.replace("    student.train()\n", "")), "message": "train mode"},
    {"task": "t4-frozen-teacher", "cell": "t4-code", "kind": "wrong", "name": "returns the loss with its graph",
     "code": _STEP.replace("BODY", _STEP_OK.replace("return loss.detach()", "return loss")), "message": "loss.detach()"},
    {"task": "t4-frozen-teacher", "cell": "t4-code", "kind": "right", "name": "inference_mode and requires_grad_(False)",
     "code": "def distill_step(student, teacher, optimizer, x, y, loss_fn):\n"
             "    was = teacher.eval()\n"
             "    with torch.inference_mode():\n"
             "        target = was(x)\n"
             "    student.train(True)\n"
             "    optimizer.zero_grad(set_to_none=False)\n"
             "    loss = loss_fn(student(x), target.clone(), y)\n"
             "    loss.backward()\n"
             "    optimizer.step()\n"
             "    return loss.detach().clone()"},

    # Task 5: paired verdict
    {"task": "t5-paired-verdict", "cell": "t5-code", "kind": "wrong", "name": "ignores the spread",
     "code": _verdict(limit="0.0"), "message": "within the spread"},
    {"task": "t5-paired-verdict", "cell": "t5-code", "kind": "wrong", "name": "unpaired: the lesson's rule on means",
     "code": "def paired_verdict(baseline, method, higher_is_better=True):\n"
             "    if len(baseline) != len(method) or len(baseline) < 2:\n"
             "        raise ValueError('bad lengths')\n"
             "    diff = statistics.mean(method) - statistics.mean(baseline)\n"
             "    diff = diff if higher_is_better else -diff\n"
             "    spread = max(statistics.stdev(baseline), statistics.stdev(method))\n"
             "    if abs(diff) <= spread:\n"
             "        return None\n"
             "    return 'better' if diff > 0 else 'worse'",
     "message": "the seeds are paired"},
    {"task": "t5-paired-verdict", "cell": "t5-code", "kind": "wrong", "name": "min/max: every method seed beats every baseline seed",
     "code": "def paired_verdict(baseline, method, higher_is_better=True):\n"
             "    if len(baseline) != len(method) or len(baseline) < 2:\n"
             "        raise ValueError('bad lengths')\n"
             "    if not higher_is_better:\n"
             "        baseline, method = [-b for b in baseline], [-m for m in method]\n"
             "    if min(method) > max(baseline):\n"
             "        return 'better'\n"
             "    if max(method) < min(baseline):\n"
             "        return 'worse'\n"
             "    return None",
     "message": "the seeds are paired"},
    {"task": "t5-paired-verdict", "cell": "t5-code", "kind": "wrong", "name": "higher_is_better ignored",
     "code": _verdict(sign="1.0"), "message": "higher_is_better=False"},
    {"task": "t5-paired-verdict", "cell": "t5-code", "kind": "wrong", "name": "population standard deviation (divides by n)",
     "code": _verdict(se="statistics.pstdev(d) / math.sqrt(len(d))"), "message": "sample standard deviation"},
    {"task": "t5-paired-verdict", "cell": "t5-code", "kind": "wrong", "name": "no length check",
     "code": "def paired_verdict(baseline, method, higher_is_better=True):\n"
             "    sign = 1.0 if higher_is_better else -1.0\n"
             "    d = [sign * (m - b) for b, m in zip(baseline, method)]\n"
             "    if len(d) < 2:\n"
             "        raise ValueError('need 2 seeds')\n"
             "    se = statistics.stdev(d) / math.sqrt(len(d))\n"
             "    m = statistics.mean(d)\n"
             "    return 'better' if m > 2 * se else 'worse' if m < -2 * se else None",
     "message": "length 3 and 2"},
    {"task": "t5-paired-verdict", "cell": "t5-code", "kind": "right", "name": "torch tensors and torch.std",
     "code": "def paired_verdict(baseline, method, higher_is_better=True):\n"
             "    b, m = torch.tensor(baseline, dtype=torch.float64), torch.tensor(method, dtype=torch.float64)\n"
             "    if b.shape != m.shape or b.numel() < 2:\n"
             "        raise ValueError('need two equally long lists of at least 2 scores')\n"
             "    d = (m - b) if higher_is_better else (b - m)\n"
             "    t = d.mean() / (d.std() / d.numel() ** 0.5)\n"
             "    return 'better' if t > 2 else ('worse' if t < -2 else None)"},
]
