"""The five papers' checkable claims, as data: each in the book's own short words, where the paper makes it,
the runs that test it (through :mod:`ltnb.methods`) and the statistic that decides (:mod:`ltnb.stats`).

Kinds (``kind``) and what they read:

* ``beats``: method ``a``'s last-epoch test accuracy above ``b``'s (``metric``: or a split's, e.g. ``tail``;
  ``beats_few``: on the few classes); ``gain``: ``a - a0`` above ``b - b0``;
* ``trend``: a per-class ``quantity`` of ``method`` larger for the frequent classes (``direction="head"``)
  or the rare ones (``"tail"``), read against the balanced reference;
* ``flatter``: ``quantity`` of ``a`` (``quantity_b`` of ``b``, default the same) varies less across classes;
* ``less`` / ``more``: a scalar ``quantity`` of ``a`` below / above ``b``'s (a metric such as ECE, or a
  statistic of the test features such as the correlation between channels);
* ``positive``: a per-run statistic ``quantity`` of ``method`` above 0, seed by seed (a lead in points);
* ``untestable``: not testable here, and ``why``.

``chapter`` and ``figure`` say where the book shows the evidence; the chapter prints the verdict there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ltnb import reference

KINDS = ("beats", "beats_few", "gain", "trend", "flatter", "less", "more", "positive", "untestable")


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str  # the chapter name of the paper: angular | marr | lgla | gcl | whitening
    where: str  # section, table or figure of the paper
    text: str  # the claim in the book's words
    kind: str
    a: str = ""
    b: str = ""
    method: str = ""
    quantity: str = "accuracy"
    quantity_b: str = ""
    direction: str = "head"
    metric: str = "accuracy"  # beats / gain: accuracy, or a split (few, tail, ...)
    ka: tuple = ()  # knobs of a (or of method), as (name, value) pairs
    kb: tuple = ()
    a0: str = ""  # gain: a's reference, b's reference ((a - a0) against (b - b0))
    b0: str = ""
    against: str = ""  # trend: another per-class quantity of the same runs instead of class size
    chapter: str = ""
    figure: str = ""
    imbs: tuple = field(default=())  # the factors the paper tests it at
    why: str = ""  # not testable here: why
    printed: tuple = ()  # beats: the paper's rows for a and b where PRINTED cannot name them (knobs, other tables):
    # (data set, row of a, row of b), a row as "Table 3: GCL (cos.)", with "@ text" for a part of its setting
    rivals: tuple = ()  # beats, "a is the best of a set": the set's others besides b (a name, or (name, knobs)), all beaten

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r}; choose one of {KINDS}")
        if self.kind == "untestable" and not self.why:
            raise ValueError(f"claim {self.id}: an untestable claim says why")
        if self.rivals and (self.kind != "beats" or self.ka or self.printed):
            raise ValueError(f"claim {self.id}: rivals are for a 'beats' claim of a method without knobs")


# Every claim of the five papers, in the book's words (not the papers'), paper by paper. Where a paper's own table
# contradicts its text, the text of the claim says so.
CLAIMS: list[Claim] = [
    # ---- angular
    Claim('angular-1', 'angular', 'Abstract; Sec. 1, Fig. 1 (CIFAR-10/100-LT, ImageNet-LT; factor not printed)', "After stage-1 training with cross-entropy the classifier's weight norms are larger for head classes than for tail classes.", 'trend', method='CE', quantity='weight_norm', chapter='angular', figure='Figure 1'),
    Claim('angular-2', 'angular', 'Sec. 2 (Preprocessing Data), Fig. 1', 'Mixup does not remove the weight-norm imbalance: after stage 1 with mixup (MiSLAS stage 1) the head classes still have the larger weight norms.', 'trend', method='CE + mixup', quantity='weight_norm', chapter='angular', figure='Figure 1'),
    Claim('angular-3', 'angular', 'Sec. 2 (Preprocessing Data), citing MiSLAS [42]; Fig. 1', 'Mixup eases the weight-norm imbalance: per-class weight norms vary less across classes with mixup than without.', 'flatter', a='CE + mixup', b='CE', quantity='weight_norm', chapter='angular', figure='Figure 1'),
    Claim('angular-4', 'angular', 'Sec. 3.2, Fig. 3 (training set; factor not printed)', "On the training images, each class's mean own-class linear logit falls from head to tail.", 'trend', method='CE + mixup', quantity='mean_logit_true', chapter='angular', figure='Figures 3 and 7'),
    Claim('angular-5', 'angular', 'Sec. 3.2, Fig. 3', "On the training images, each class's mean own-class angular logit (Eq. 1, the L2A reading of the same stage-1 run) also falls from head to tail.", 'trend', method='CE + mixup', quantity='angular_logit_true', chapter='angular', figure='Figures 3 and 7'),
    Claim('angular-6', 'angular', "Sec. 3.2, Fig. 3 ('angular smoothness')", 'Angular smoothness on the training set: the per-class mean own logit varies far more smoothly/less across classes in the angular form than in the linear form.', 'flatter', a='CE + mixup', b='CE + mixup', quantity='angular_logit_true', quantity_b='mean_logit_true', chapter='angular', figure='Figures 3 and 7'),
    Claim('angular-7', 'angular', 'App. A.1, Fig. 7 (balanced validation/test set)', 'The same angular smoothness holds on the balanced test set: the angular per-class mean own logit is flatter across classes than the linear one.', 'flatter', a='CE + mixup', b='CE + mixup', quantity='angular_logit_true_test', quantity_b='mean_logit_true_test', chapter='angular', figure='Figures 3 and 7'),
    Claim('angular-8', 'angular', 'Sec. 3.2 (Drawbacks), Fig. 4(a, b)', "Angular probabilities are close to uniform ('over-conservative'): softmax(P^A) has higher entropy than the linear softmax of the same network.", 'untestable', why="needs each test image's linear probabilities; the recordings keep class means of them"),
    Claim('angular-9', 'angular', 'Sec. 3.2 (Drawbacks)', 'Angular predictions are over-pessimistic and uncalibrated: the ECE of softmax(P^A) is larger than that of the linear softmax.', 'more', a='L2A (stage 1)', b='CE + mixup', quantity='ece', chapter='angular', figure='Table 1'),
    Claim('angular-10', 'angular', 'Sec. 3.2, Eq. 6 (AEM)', 'Training with AEM makes the angular probabilities less flat than the angular reading of a CE-trained network (the reason AEM exists).', 'untestable', why="needs the AEM network's per-image angular probabilities, which its recording does not keep"),
    Claim('angular-11', 'angular', 'Sec. 3.3 (on LWS [20])', "LWS's learned per-class scales increase monotonically from head to tail (they suppress head and expand tail logits).", 'trend', method='LWS', quantity='lws_scale', direction='tail', chapter='baselines', figure='Classifier weight norms'),
    Claim('angular-12', 'angular', 'Sec. 3.3 (LWS inside MiSLAS stage 2)', "In MiSLAS's stage 2 the learned LWS scales also increase from head to tail.", 'trend', method='MiSLAS', quantity='lws_scale', direction='tail', chapter='angular', figure='Figure 1'),
    Claim('angular-13', 'angular', "Sec. 3.3, Fig. 4(b); App. A.2, Figs. 8-9 (CIFAR-100-LT, CIFAR-10-LT 'similar')", 'Implicit bias: on the training images, the floor of the angular probabilities each predicted class receives (its least mean probability over true classes) rises with class size.', 'trend', method='CE + mixup', quantity='angular_floor', chapter='angular', figure='Figure 4'),
    Claim('angular-14', 'angular', 'Sec. 4.2, Fig. 5(a) (CIFAR-10-LT test set)', 'After stage 1 the angular predictions keep the implicit bias on the balanced test set: the mean probability a class receives rises towards the head.', 'trend', method='CE + mixup', quantity='received_angular', chapter='angular', figure='Figure 5'),
    Claim('angular-15', 'angular', 'Sec. 4.2, Fig. 5(b)', 'ABS removes the implicit bias: the mean test probability per class is flatter after ABS than before.', 'flatter', a='CE + mixup', b='CE + mixup', quantity='received_abs', quantity_b='received_angular', chapter='angular', figure='Figure 5'),
    Claim('angular-16', 'angular', 'Sec. 4.2, Fig. 5(c)', 'Stage-2 re-training gives calibrated angular predictions: the mean test probability per class is flatter after stage 2 than after stage 1.', 'flatter', a='MiSLAS', b='CE + mixup', quantity='received_angular', chapter='angular', figure='Figure 5'),
    Claim('angular-17', 'angular', 'Sec. 3.1, 4.2; Table 1 (also Table 2)', 'Reading stage 1 with angular predictions (L2A) beats the linear reading of the same MiSLAS stage-1 network (CIFAR-10-LT and CIFAR-100-LT, all factors).', 'beats', a='L2A (stage 1)', b='CE + mixup', chapter='angular', figure='Table 1', imbs=(100, 50, 10)),
    Claim('angular-18', 'angular', "Table 1 caption; Sec. 4.2 ('especially in tail classes')", 'L2A after stage 1 raises tail-class accuracy over the linear reading.', 'beats', a='L2A (stage 1)', b='CE + mixup', metric='tail', chapter='angular', figure='Table 1', imbs=(100, 50, 10)),
    Claim('angular-19', 'angular', 'Table 1 (bold), Table 2', 'L2A after stage 2 (LWS dropped, angular reading) beats MiSLAS stage 2 on CIFAR-10-LT at 100 and 50 (the table has it behind at 10 and on CIFAR-100-LT).', 'beats', a='L2A (stage 2)', b='MiSLAS', chapter='angular', figure='Table 1', imbs=(100, 50)),
    Claim('angular-20', 'angular', 'Table 1, Sec. 4.2', 'L2A after stage 2 raises tail accuracy over MiSLAS stage 2 (all factors, both data sets).', 'beats', a='L2A (stage 2)', b='MiSLAS', metric='tail', chapter='angular', figure='Table 1', imbs=(100, 50, 10)),
    Claim('angular-21', 'angular', 'Sec. 4.2 (Replacing the linear form)', 'The gain of the angular reading is larger after stage 1 than after stage 2.', 'gain', a='L2A (stage 1)', b='L2A (stage 2)', a0='CE + mixup', b0='MiSLAS', chapter='angular', figure='Table 1', imbs=(100, 50, 10)),
    Claim('angular-22', 'angular', 'Table 2; Sec. 4.2 (Elimination of the implicit bias)', 'ABS (post-hoc re-weighting of the stage-1 angular probabilities) beats L2A after stage 1.', 'beats', a='ABS', b='L2A (stage 1)', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-23', 'angular', "Table 2; Sec. 4.2 ('even approximate the performance of two stage training')", "ABS, with no re-training, reaches MiSLAS's two-stage accuracy (on CIFAR-10-LT it is ahead, 82.01 vs 81.07; on CIFAR-100-LT behind).", 'beats', a='ABS', b='MiSLAS', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-24', 'angular', "Table 2; Sec. 4.2 ('introducing entropy is beneficial')", 'AEM in stage 1 (angular reading) beats the angular reading of the CE + mixup stage 1 (L2A, stage 1; Table 2\'s L2A_S1).', 'beats', a='ATL (AEM)', b='L2A (stage 1)', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-25', 'angular', 'Table 2', 'AEM in stage 1 beats MiSLAS stage 1 (linear reading of CE + mixup).', 'beats', a='ATL (AEM)', b='CE + mixup', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-26', 'angular', "Table 2; Sec. 4.2 ('ALAS is better than the original smoothing factor')", "ALAS in stage 2 beats MiSLAS's label-aware smoothing stage 2.", 'beats', a='ATL (ALAS)', b='MiSLAS', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-27', 'angular', 'Table 2', 'ALAS beats LAS when both are read angularly without LWS (ATL (ALAS) against L2A (stage 2), Table 2\'s rows ATL_ALAS and L2A_S2).', 'beats', a='ATL (ALAS)', b='L2A (stage 2)', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-28', 'angular', "Table 2; Sec. 4.2 ('the whole framework further benefits')", 'The full ATL (AEM then ALAS) beats ALAS on the MiSLAS stage 1.', 'beats', a='ATL (all)', b='ATL (ALAS)', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-29', 'angular', 'Table 2', 'The full ATL beats AEM alone.', 'beats', a='ATL (all)', b='ATL (AEM)', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-30', 'angular', "Table 2; Abstract ('best performance among peer methods')", 'The full ATL beats MiSLAS (stage 2).', 'beats', a='ATL (all)', b='MiSLAS', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-31', 'angular', 'Table 2', 'The full ATL beats L2A after stage 2.', 'beats', a='ATL (all)', b='L2A (stage 2)', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-32', 'angular', 'Table 2', 'The full ATL beats ABS.', 'beats', a='ATL (all)', b='ABS', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-33', 'angular', 'Table 5 (CIFAR-10-LT, sine F; factor inferred as 100), Sec. 4.4', "ABS at Table 5's best strength (s = 0.24, sine F) beats s = 0 (no re-weighting, i.e. L2A). Note: the table's s = 0 cell (76.78) differs from L2A's stage 1 in Tables 1 and 2 (77.94).", 'beats', a='ABS', b='L2A (stage 1)', ka=(('s_abs', 0.24), ('form_abs', 'sine')), chapter='angular', figure='Table 5', imbs=(100,), printed=('cifar10', 'Table 5: ABS @ s=0.24, sine', 'Table 5: ABS @ s=0, sine')),
    Claim('angular-34', 'angular', 'Table 5, Sec. 4.4 (trade-off)', 'Too strong a re-weighting hurts: ABS at s = 0.24 beats s = 0.32 (accuracy peaks inside the sweep).', 'beats', a='ABS', b='ABS', ka=(('s_abs', 0.24), ('form_abs', 'sine')), kb=(('s_abs', 0.32), ('form_abs', 'sine')), chapter='angular', figure='Table 5', imbs=(100,), printed=('cifar10', 'Table 5: ABS @ s=0.24, sine', 'Table 5: ABS @ s=0.32, sine')),
    Claim('angular-35', 'angular', "Sec. 4.4 ('trade-off in accuracy between the head and tail classes'); Fig. 5", 'ABS trades head for tail: it raises tail-class accuracy over L2A after stage 1.', 'beats', a='ABS', b='L2A (stage 1)', metric='tail', chapter='angular', figure='Table 2', imbs=(100,)),
    Claim('angular-36', 'angular', 'Sec. 4.3, Fig. 6 (CIFAR-10-LT and CIFAR-100-LT; factor not printed)', 'For long-tailed data pruning, pruning by AVH beats pruning by EL2N at the same fraction pruned.', 'beats', a='CE, pruned', b='CE, pruned', ka=(('prune', 'avh'), ('fraction', 'each')), kb=(('prune', 'el2n'), ('fraction', 'each')), chapter='angular', figure='Figure 6'),
    Claim('angular-37', 'angular', 'Sec. 4.3, Fig. 6', 'Pruning by AVH beats random pruning at the same fraction.', 'beats', a='CE, pruned', b='CE, pruned', ka=(('prune', 'avh'), ('fraction', 'each')), kb=(('prune', 'random'), ('fraction', 'each')), chapter='angular', figure='Figure 6'),
    Claim('angular-38', 'angular', 'Sec. 4.3, Fig. 6', 'Pruning by AVH beats class-wise random pruning at the same fraction.', 'beats', a='CE, pruned', b='CE, pruned', ka=(('prune', 'avh'), ('fraction', 'each')), kb=(('prune', 'classwise'), ('fraction', 'each')), chapter='angular', figure='Figure 6'),
    Claim('angular-39', 'angular', 'Sec. 4.3, Fig. 6 caption', 'AVH pruning loses only a little accuracy even with 45% of CIFAR-10-LT pruned (25% of CIFAR-100-LT).', 'untestable', why="the paper sets no threshold for losing 'only a little' accuracy"),
    Claim('angular-40', 'angular', 'App. B.2, Fig. 12 (data set not printed)', 'Per-class angular visual hardness correlates positively with per-class accuracy (as the caption prints).', 'trend', a='CE + mixup', method='CE + mixup', quantity='avh', against='accuracy', chapter='angular', figure='Figure 12'),
    Claim('angular-41', 'angular', 'Table 2 (CIFAR-10-LT/CIFAR-100-LT at 100)', 'ATL (all) beats Focal Loss, L2RW, CB Loss, RCBM-CE, BBN, TSC and TDE.', 'untestable', imbs=(100,), why='none of these competitors is trained here'),
    Claim('angular-42', 'angular', 'Sec. 1 (contributions), Sec. 5', 'ATL slightly underperforms pretraining-based contrastive methods (BCL) and ensembles (NCL), and beats all other methods without pretraining.', 'untestable', why='BCL, NCL and the other peer methods are not trained here'),
    Claim('angular-43', 'angular', 'Table 3 (ImageNet-LT, ResNet-50)', 'On ImageNet-LT, L2A (stage 1) beats the CE + mixup stage 1 (MiSLAS stage 1), ATL with all its parts is best, ABS and ATL (AEM) beat the CE + mixup stage 1, and all beat MetaSAug-CE and LWS.', 'untestable', why='ImageNet-LT only'),
    Claim('angular-44', 'angular', 'Sec. 4.3, Table 4 (ImageNet-LT, ViT-S/ViT-B)', 'With ViT backbones the angular reading keeps overall accuracy roughly level, lowering mid-class and raising tail-class accuracy.', 'untestable', why='ViT on ImageNet-LT; the book trains a ResNet-32 only'),
    Claim('angular-45', 'angular', 'App. A.3, Fig. 10', 'A ViT-B classifier shows no weight-norm imbalance, but its bias term is imbalanced (opposite trend to CNNs).', 'untestable', why='ViT on ImageNet-LT'),
    Claim('angular-46', 'angular', 'App. B.1, Fig. 11 (CIFAR-100-LT)', 'Stage 2 eases but does not remove the weight-norm imbalance: norms are flatter after MiSLAS stage 2 than after stage 1, yet still head-heavy.', 'flatter', a='MiSLAS', b='CE + mixup', quantity='weight_norm', chapter='angular', figure='Figure 1'),
    Claim('angular-47', 'angular', 'Table 6 (CIFAR-100-LT), Sec. 4.4', 'For ALAS, the linear f is better at small τ: at τ = 0.25 linear beats concave (the paper: linear at small τ, concave at large).', 'beats', a='ATL (ALAS)', b='ATL (ALAS)', ka=(('tau', 0.25), ('f_form', 'linear')), kb=(('tau', 0.25), ('f_form', 'concave')), chapter='angular', figure='Table 6', imbs=(100,), printed=('cifar100', 'Table 6: ATL_ALAS @ tau=0.25, linear', 'Table 6: ATL_ALAS @ tau=0.25, concave')),
    Claim('angular-47b', 'angular', 'Table 6 (CIFAR-100-LT), Sec. 4.4', 'For ALAS, the concave f is better at large τ: at τ = 1.25 concave beats linear.', 'beats', a='ATL (ALAS)', b='ATL (ALAS)', ka=(('tau', 1.25), ('f_form', 'concave')), kb=(('tau', 1.25), ('f_form', 'linear')), chapter='angular', figure='Table 6', imbs=(100,), printed=('cifar100', 'Table 6: ATL_ALAS @ tau=1.25, concave', 'Table 6: ATL_ALAS @ tau=1.25, linear')),
    Claim('angular-48', 'angular', 'Table 6, Sec. 4.4', 'ALAS accuracy against τ is convex (an interior peak); by split, mid and tail are convex and head concave.', 'untestable', imbs=(100,), why="a shape over the sweep (an interior peak, per split) for which the paper gives no test and prints no per-split numbers; the book draws the sweep (Table 6) and tests the pairwise claims of angular-47"),
    Claim('angular-49', 'angular', 'Sec. 3.2 (Merits)', "Angular predictions, confined to [0, pi], push more samples to the decision boundary (more 'marginal' samples).", 'untestable', why="the paper defines no measurement of 'marginal samples', and the book records no per-sample margins"),
    Claim('angular-50', 'angular', 'Sec. 4.3 (pruning)', 'EL2N misjudges sample hardness because its linear predictions carry the weight imbalance, and so prunes necessary hard samples; AVH does not.', 'untestable', why='a mechanism, not a measurement: the book records pruning scores and accuracies, not errors of hardness'),
    Claim('angular-51', 'angular', 'Fig. 2', 'Rationale diagram: the linear prediction picks the head class by projection length where the angle picks the tail class.', 'untestable', why='a diagram'),
    # ---- marr
    Claim('marr-1', 'marr', 'Sec. 1, Fig. 1(a) (CIFAR-10-LT 200); Sec. 3.2, Eq. 7; Sec. 4.4, Fig. 3(a) (CIFAR-100-LT 200), Fig. 5(d) (ImageNet-LT)', "After standard training, each class's mean own logit falls from head to tail.", 'trend', method='CE', quantity='mean_logit_true', chapter='marr', figure='Figures 1 and 3', imbs=(200,)),
    Claim('marr-2', 'marr', 'Sec. 1, Fig. 1(b); Sec. 3.2, Eq. 7; Fig. 3(b); Fig. 5(c)', "After standard training, each class's mean margin (own logit divided by the class's weight norm ‖W_j‖) falls from head to tail.", 'trend', method='CE', quantity='margin', chapter='marr', figure='Figures 1 and 3', imbs=(200,)),
    Claim('marr-3', 'marr', 'Sec. 1, Fig. 1(a); Sec. 4.4, Fig. 3(a)', 'MARR balances the logits: per-class mean own logits vary less across classes after MARR than before.', 'flatter', a='MARR', b='CE', quantity='mean_logit_true', chapter='marr', figure='Figures 1 and 3', imbs=(200,)),
    Claim('marr-4', 'marr', 'Sec. 1, Fig. 1(b); Sec. 4.4, Fig. 3(b)', 'MARR balances the margins: per-class mean margins vary less across classes after MARR than before.', 'flatter', a='MARR', b='CE', quantity='margin', chapter='marr', figure='Figures 1 and 3', imbs=(200,)),
    Claim('marr-5', 'marr', 'Sec. 1, Fig. 1(c); Sec. 4.4, Fig. 3(c, d) (CIFAR-10-LT 200)', 'MARR improves tail-class accuracy over standard training.', 'beats', metric='tail', a='MARR', b='CE', chapter='marr', figure='Figures 1 and 3', imbs=(200,)),
    Claim('marr-6', 'marr', "Sec. 4.4 ('reduce the performance gap between the head and the tail classes'); Fig. 1(c)", 'MARR narrows the accuracy gap between head and tail classes: per-class accuracy varies less across classes.', 'flatter', a='MARR', b='CE', chapter='marr', figure='Figure 6', imbs=(200,)),
    Claim('marr-7', 'marr', 'Sec. 4.4 (Class-wise performance)', 'After MARR head-class performance is not severely affected.', 'untestable', imbs=(200,), why="the paper sets no threshold for 'not severely affected'"),
    Claim('marr-8', 'marr', "Abstract; Sec. 1; Sec. 3.2; Sec. 4.4 ('tends to classify tail classes as head classes')", 'Standard training classifies tail images as head classes: the share of test predictions going to a class rises with its training size.', 'trend', method='CE', quantity='predicted_share', chapter='marr', figure='Figure 3 confusion', imbs=(200,)),
    Claim('marr-9', 'marr', 'Sec. 4.4, Fig. 3(c, d)', 'MARR removes much of that prediction bias: the per-class share of predictions is flatter after MARR.', 'flatter', a='MARR', b='CE', quantity='predicted_share', chapter='marr', figure='Figure 3 confusion', imbs=(200,)),
    Claim('marr-10', 'marr', 'Sec. 4.2, Table 2 (CIFAR-10-LT)', "MARR beats CE (printed 'Softmax').", 'beats', a='MARR', b='CE', chapter='marr', figure='Table 2', imbs=(100, 200)),
    Claim('marr-11', 'marr', 'Sec. 4.2, Table 2 (CIFAR-10-LT)', "MARR beats LDAM-DRW (printed 'LDAM'; DRW not stated; the book reads that row as LDAM-DRW, at whose level it sits: 78.9 at 100, Cao et al.'s LDAM-DRW 77.03, LDAM alone 73.35).", 'beats', a='MARR', b='LDAM-DRW', chapter='marr', figure='Table 2', imbs=(100, 200)),
    Claim('marr-12', 'marr', 'Sec. 4.2, Table 2 (CIFAR-10-LT)', 'MARR beats Balanced Softmax.', 'beats', a='MARR', b='Balanced Softmax', chapter='marr', figure='Table 2', imbs=(100, 200)),
    Claim('marr-13', 'marr', 'Sec. 4.2, Table 2 (CIFAR-10-LT)', 'MARR beats DisAlign (same pre-trained model as MARR).', 'beats', a='MARR', b='DisAlign', chapter='marr', figure='Table 2', imbs=(100, 200)),
    Claim('marr-14', 'marr', 'Sec. 4.2, Table 2 (CIFAR-10-LT)', "MARR beats cRT (printed 'Decouple-cRT', same pre-trained model).", 'beats', a='MARR', b='cRT', chapter='marr', figure='Table 2', imbs=(100, 200)),
    Claim('marr-15', 'marr', 'Sec. 4.2, Table 2 (CIFAR-10-LT)', "MARR beats LWS (printed 'Decouple-LWS', same pre-trained model; the paper quotes MARR's lead of 1.6 / 3.0 points).", 'beats', a='MARR', b='LWS', chapter='marr', figure='Table 2', imbs=(100, 200)),
    Claim('marr-16', 'marr', 'Sec. 4.2, Table 2', 'MARR beats class-balanced sampling, class-balanced weighting, CB loss, focal loss, LADE, equalization loss, BBN and Hybrid-SC on CIFAR-LT.', 'untestable', imbs=(100, 200), why='none of these is trained here'),
    Claim('marr-17', 'marr', 'Sec. 4.3, Table 6 (#Param.; CIFAR-100-LT 200)', 'MARR trains fewer parameters (2K) than cRT (pK + K).', 'less', a='MARR', b='cRT', quantity='trainable_parameters', chapter='marr', figure='Table 6', imbs=(200,)),
    Claim('marr-18', 'marr', 'Sec. 4.3, Table 6 (CIFAR-100-LT 200)', 'MARR trains fewer parameters (2K) than DisAlign (p + 2K).', 'less', a='MARR', b='DisAlign', quantity='trainable_parameters', chapter='marr', figure='Table 6', imbs=(200,)),
    Claim('marr-19', 'marr', "Sec. 4.3, Table 6 (CIFAR-100-LT 200; 'even though our trainable parameters are more than Decouple-LWS')", 'MARR trains more parameters (2K) than LWS (K).', 'more', a='MARR', b='LWS', quantity='trainable_parameters', chapter='marr', figure='Table 6', imbs=(200,)),
    Claim('marr-20', 'marr', 'Sec. 4.2, Table 2 (CIFAR-10-LT, CIFAR-100-LT); Sec. 4.3, Table 6 (CIFAR-100-LT 200, ImageNet-LT)', 'MARR is the most accurate of the learnable decision-boundary methods (cRT, LWS, DisAlign): it beats each of them (Table 2, CIFAR-10-LT 200: MARR 81.1, LWS 78.1, cRT 76.6, DisAlign 71.2; Table 6, CIFAR-100-LT 200: 47.4, 45.3, 44.5, 43.6); the verdict is the hardest of the three comparisons, its paper gap read off Table 2.', 'beats', a='MARR', b='LWS', rivals=('cRT', 'DisAlign'), chapter='marr', figure='Table 2', imbs=(200,)),
    Claim('marr-21', 'marr', 'Sec. 4.3, Table 7 (CIFAR-100-LT 200)', 'MARR gets better as the standard pre-trained model is trained on more balanced data: on a backbone at imbalance 50 it beats MARR on the backbone at the setting (the paper, at CIFAR-100-LT 200: backbones at 200 < 100 < 50).', 'beats', a='MARR', b='MARR', ka=(('backbone_imb', 50),), chapter='marr', figure='Table 7', imbs=(200,)),
    Claim('marr-22', 'marr', 'Sec. 4.4, Fig. 4 (CIFAR-100-LT 200)', 'γ = 1.2 is the best re-weighting exponent, and too large a γ hurts: γ = 1.2 beats every other γ of the sweep (2.0, 0, 0.4, 0.8, 1.6); the verdict is the hardest of those comparisons.', 'beats', a='MARR', b='MARR', kb=(('gamma', 2.0),), rivals=tuple(('MARR', (('gamma', g),)) for g in (0.0, 0.4, 0.8, 1.6)), chapter='marr', figure='Figure 4', imbs=(200,)),
    Claim('marr-23', 'marr', 'Sec. 4.4, Fig. 4', 'MARR without re-weighting (γ = 0) still beats standard training (45.2 vs 41.0).', 'beats', a='MARR', b='CE', ka=(('gamma', 0.0),), chapter='marr', figure='Figure 4', imbs=(200,)),
    Claim('marr-24', 'marr', 'Sec. 4.4, Fig. 6 (CIFAR-100-LT 200)', 'MARR raises the F1 score over standard training (macro F1 over the classes; its overall accuracy is marr-10).', 'beats', metric='macro_f1', a='MARR', b='CE', chapter='marr', figure='Figure 6', imbs=(200,)),
    Claim('marr-25', 'marr', 'Sec. 4.4, Fig. 5(a, b) (ImageNet-LT)', 'MARR gives more balanced per-class margins than DisAlign.', 'flatter', a='MARR', b='DisAlign', quantity='margin', chapter='marr', figure='Figures 1 and 3'),
    Claim('marr-26', 'marr', 'Sec. 4.4, Fig. 5(a, b)', "MARR gives more balanced gradients than DisAlign; DisAlign's instability comes from mixing rectified and original logits.", 'untestable', why='ImageNet-LT only, and the book records no gradients of the stage-2 fits'),
    Claim('marr-27', 'marr', 'Sec. 4.2, Table 3 (ImageNet-LT)', 'MARR beats all loss-engineering methods and DisAlign overall (52.3) and on few-shot classes.', 'untestable', why='ImageNet-LT only'),
    Claim('marr-28', 'marr', 'Sec. 4.2, Table 4 (Places-LT)', 'MARR beats the other decision-boundary methods on Places-LT and has higher few-shot accuracy than LADE, though lower overall.', 'untestable', why='Places-LT only'),
    Claim('marr-29', 'marr', 'Sec. 4.2, Table 5 (iNaturalist 2018)', 'MARR beats every method listed on iNaturalist-LT, DisAlign by 0.1.', 'untestable', why='iNaturalist only'),
    Claim('marr-30', 'marr', 'Sec. 3.2, Fig. 2, Eq. 6', 'Illustration: with equal weight norms, the class with the larger margin wins.', 'untestable', why='a diagram and an identity'),
    # ---- lgla
    Claim('lgla-1', 'lgla', 'Sec. 3.2, Fig. 3 (three-expert LGLA; data set not printed)', 'The GLA expert learns an inversely long-tailed classifier: its per-class weight norms are larger for tail classes.', 'trend', method='LGLA', quantity='weight_norm_expert_global', direction='tail', chapter='lgla', figure='Figure 3'),
    Claim('lgla-2', 'lgla', 'Sec. 3.2, Fig. 3', 'The first LLA expert (head group C_1) has its larger weight norms on the head classes.', 'trend', method='LGLA', quantity='weight_norm_expert_first', chapter='lgla', figure='Figure 3'),
    Claim('lgla-3', 'lgla', 'Sec. 3.2, Fig. 3', 'The last LLA expert (tail group C_{K-1}) has its larger weight norms on the tail classes.', 'trend', method='LGLA', quantity='weight_norm_expert_last_local', direction='tail', chapter='lgla', figure='Figure 3'),
    Claim('lgla-4', 'lgla', "Sec. 3.2, Fig. 3 ('approximately uniform among various categories')", 'Averaged over the experts, the per-class weight norms are approximately uniform across classes (the book reads each class\'s norm as the mean over the experts).', 'flatter', a='LGLA', b='CE', quantity='weight_norm', chapter='lgla', figure='Figure 3'),
    Claim('lgla-5', 'lgla', "Sec. 3.2 ('the first two experts excel at the first and last subsets')", 'Each LLA expert, used alone, is most accurate on its own class group (ahead of every other expert there).', 'positive', method='LGLA', quantity='own_group_lead', chapter='lgla', figure='Figure 3'),
    Claim('lgla-6', 'lgla', 'Sec. 3.2 (GLA), Fig. 3', 'The GLA expert alone is best on the tail: its per-class accuracy rises from head to tail.', 'trend', method='LGLA', quantity='accuracy_expert_global', direction='tail', chapter='lgla', figure='Figure 3'),
    Claim('lgla-7', 'lgla', "Fig. 3 caption ('the ensemble result presents uniform distribution')", "The ensemble's per-class accuracy is close to uniform: flatter across classes than a single CE network's.", 'flatter', a='LGLA', b='CE', chapter='lgla', figure='Figure 3'),
    Claim('lgla-8', 'lgla', "Sec. 3.2 ('higher norms in a classifier usually contribute more to the performance')", 'Within an expert, classes with larger weight norms are the ones it classifies better (Spearman ρ per expert, averaged).', 'positive', method='LGLA', quantity='norm_accuracy_rho', chapter='lgla', figure='Figure 3'),
    Claim('lgla-9', 'lgla', "Sec. 3.3 ('tail classes ... gradually become hard to score')", 'Tail-class samples lie at larger angles to their class centre than head-class samples.', 'untestable', why="needs the multi-expert networks' test features, which their recordings do not keep"),
    Claim('lgla-10', 'lgla', "Sec. 1 (contributions: 'higher diversity among experts'); Abstract ('enlarges the discrepancy among them')", 'CLA makes the experts more diverse than experts trained with one shared loss.', 'more', a='LGLA', b='BALMS experts', quantity='expert_disagreement', chapter='lgla', figure='Table 1'),
    Claim('lgla-11', 'lgla', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', "LGLA ('Ours (GC)') beats LDAM-DRW.", 'beats', a='LGLA', b='LDAM-DRW', chapter='lgla', figure='Table 1', imbs=(100, 50)),
    Claim('lgla-12', 'lgla', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', "LGLA ('Ours (GC)') beats MiSLAS.", 'beats', a='LGLA', b='MiSLAS', chapter='leaderboard', figure='The table', imbs=(100, 50)),
    Claim('lgla-13', 'lgla', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', "LGLA ('Ours') beats LDAM-DRW.", 'beats', a='LGLA', b='LDAM-DRW', ka=(('expert_type', 'ic'),), chapter='lgla', figure='Table 1', imbs=(100, 50), printed=('cifar10', 'Table 1: Ours', 'Table 1: LDAM+DRW')),
    Claim('lgla-14', 'lgla', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', "LGLA ('Ours') beats MiSLAS.", 'beats', a='LGLA', b='MiSLAS', ka=(('expert_type', 'ic'),), chapter='leaderboard', figure='The table', imbs=(100, 50), printed=('cifar10', 'Table 1: Ours', 'Table 1: MiSLAS')),
    Claim('lgla-15', 'lgla', 'Sec. 4.2, Sec. 4.4, Fig. 8 (data set and factor not stated); Table 1 (IF = 100 and 50)', "Group-convolution experts beat independent-convolution experts at the same parameter count. Note: the paper's own CIFAR-10-LT Table 1 has IC ahead (87.8 vs 87.5 at 100, 90.2 vs 89.8 at 50); GC is ahead on CIFAR-100-LT.", 'beats', a='LGLA', b='LGLA', kb=(('expert_type', 'ic'),), chapter='lgla', figure='Table 1', imbs=(100, 50)),
    Claim('lgla-16', 'lgla', 'Sec. 4.3, Table 1 (CIFAR-10-LT and CIFAR-100-LT)', 'LGLA beats CB Focal, LDAM+DAP, LDAM+M2m, BBN, LFME, CAM, RIDE, Logit Adj., LADE, Hybrid-SC, DiVE, SSD, ACE, PaCo, ResLT and NCL (by 2.3-2.9 points).', 'untestable', imbs=(100, 50), why="none of these is trained here (Balanced Softmax is close to, but not, Menon et al.'s logit adjustment)"),
    Claim('lgla-17', 'lgla', 'Sec. 4.3, Table 1 (CIFAR-100-LT)', 'Group convolution further improves LGLA on CIFAR-100-LT (57.2 / 61.6).', 'untestable', imbs=(100, 50), why='CIFAR-100-LT only (the general GC-vs-IC claim is listed separately)'),
    Claim('lgla-18', 'lgla', 'Sec. 4.4, Table 4 (CIFAR-100-LT 100)', 'RandAugment improves LGLA (the paper: every multi-expert model, Softmax, BALMS and LGLA).', 'beats', a='LGLA', b='LGLA', kb=(('randaugment', False),), chapter='lgla', figure='Table 4', imbs=(100,), printed=('cifar100', 'Table 4: Ours (GC) @ w/ RandAugment', 'Table 4: Ours (GC) @ w/o RandAugment')),
    Claim('lgla-18b', 'lgla', 'Sec. 4.4, Table 4 (CIFAR-100-LT 100)', 'RandAugment improves the three-expert BALMS model.', 'beats', a='LGLA', b='LGLA', ka=(('loss', 'balanced_softmax'), ('aaw', False)), kb=(('loss', 'balanced_softmax'), ('aaw', False), ('randaugment', False)), chapter='lgla', figure='Table 4', imbs=(100,), printed=('cifar100', 'Table 4: BALMS @ w/ RandAugment', 'Table 4: BALMS @ w/o RandAugment')),
    Claim('lgla-18c', 'lgla', 'Sec. 4.4, Table 4 (CIFAR-100-LT 100)', 'RandAugment improves the three-expert Softmax model.', 'beats', a='LGLA', b='LGLA', ka=(('loss', 'ce'), ('aaw', False)), kb=(('loss', 'ce'), ('aaw', False), ('randaugment', False)), chapter='lgla', figure='Table 4', imbs=(100,), printed=('cifar100', 'Table 4: Softmax @ w/ RandAugment', 'Table 4: Softmax @ w/o RandAugment')),
    Claim('lgla-19', 'lgla', 'Sec. 4.4, Table 4', 'LGLA beats the three-expert BALMS model, with and without RandAugment.', 'beats', a='LGLA', b='BALMS experts', chapter='lgla', figure='Table 1', imbs=(100,), printed=('cifar100', 'Table 4: Ours (GC) @ w/ RandAugment', 'Table 4: BALMS @ w/ RandAugment')),
    Claim('lgla-20', 'lgla', 'Sec. 4.4, Table 4 (CIFAR-100-LT 100)', 'LGLA beats the three-expert Softmax model, with and without RandAugment (the book tests the chapter\'s RandAugment setting).', 'beats', a='LGLA', b='LGLA', kb=(('loss', 'ce'), ('aaw', False)), chapter='lgla', figure='Table 4', imbs=(100,), printed=('cifar100', 'Table 4: Ours (GC) @ w/ RandAugment', 'Table 4: Softmax @ w/ RandAugment')),
    Claim('lgla-21', 'lgla', 'Sec. 4.4, Table 4', 'LGLA beats NCL with and without RandAugment.', 'untestable', imbs=(100,), why='NCL is not trained here (and CIFAR-100-LT only)'),
    Claim('lgla-22', 'lgla', 'Sec. 4.4, Table 5 (CIFAR-100-LT 100)', 'CLA beats plain Softmax on the same three-expert model (+8.56), both without AAW.', 'beats', a='LGLA', b='LGLA', ka=(('aaw', False),), kb=(('loss', 'ce'), ('aaw', False)), chapter='lgla', figure='Table 5', imbs=(100,), printed=('cifar100', 'Table 5: CLA', 'Table 5: Softmax')),
    Claim('lgla-23', 'lgla', 'Sec. 4.4, Table 5 (CIFAR-100-LT 100)', 'CLA beats BALMS on the same three-expert model (+1.29), both without AAW.', 'beats', a='LGLA', b='LGLA', ka=(('aaw', False),), kb=(('loss', 'balanced_softmax'), ('aaw', False)), chapter='lgla', figure='Table 5', imbs=(100,), printed=('cifar100', 'Table 5: CLA', 'Table 5: BALMS')),
    Claim('lgla-24', 'lgla', 'Sec. 4.4, Table 5 (AAW loss; CIFAR-100-LT 100)', 'AAW improves BALMS (55.24 to 56.51).', 'beats', a='LGLA', b='LGLA', ka=(('loss', 'balanced_softmax'), ('aaw', True)), kb=(('loss', 'balanced_softmax'), ('aaw', False)), chapter='lgla', figure='Table 5', imbs=(100,), printed=('cifar100', 'Table 5: BALMS + AAW', 'Table 5: BALMS')),
    Claim('lgla-25', 'lgla', 'Sec. 4.4, Table 5 (AAW loss; CIFAR-100-LT 100)', 'AAW improves CLA (56.53 to 57.15).', 'beats', a='LGLA', b='LGLA', kb=(('aaw', False),), chapter='lgla', figure='Table 5', imbs=(100,), printed=('cifar100', 'Table 5: CLA + AAW', 'Table 5: CLA')),
    Claim('lgla-26', 'lgla', 'Sec. 4.3, Fig. 5 (CIFAR-100-LT 100)', "LGLA's gains over NCL come from the medium and few-shot classes.", 'untestable', imbs=(100,), why='NCL is not trained here (and CIFAR-100-LT only)'),
    Claim('lgla-27', 'lgla', 'Sec. 3.4, Sec. 4.4, Fig. 6 (CIFAR-100-LT, four experts)', "Raising an LLA expert's fusion weight raises the ensemble's accuracy on that expert's split, so the ensemble can be biased to a region.", 'untestable', why="CIFAR-100-LT only (and many/medium/few groups at K = 4); the book's Figure 6 sweeps the weight post hoc"),
    Claim('lgla-28', 'lgla', 'Sec. 3.4, Sec. 4.4, Fig. 7 (CIFAR-100-LT 100)', 'More experts help: three beat two (the paper sweeps K = 2 to 7, the gain flattening beyond K = 3).', 'beats', a='LGLA', b='LGLA', kb=(('experts', 2),), chapter='lgla', figure='Figure 7', imbs=(100,)),
    Claim('lgla-29', 'lgla', 'Sec. 4.3, Table 2 (ImageNet-LT, Places-LT)', 'LGLA beats NCL, PaCo, RIDE and the decoupled methods on ImageNet-LT and Places-LT.', 'untestable', why='ImageNet-LT / Places-LT only'),
    Claim('lgla-30', 'lgla', 'Sec. 4.3, Table 3 (iNaturalist 2018)', 'LGLA beats all methods overall and by about 3 points on few-shot classes on iNaturalist.', 'untestable', why='iNaturalist only'),
    Claim('lgla-31', 'lgla', 'Sec. 1, Sec. 2, Fig. 2', "Generalist ensembles trained on all data neglect the tail and specialist ensembles on subsets are ambiguous on unseen classes; LGLA's experts avoid both.", 'untestable', why='the generalist and specialist ensembles (RIDE, NCL, ResLT, ACE, LFME) are not trained here, and Fig. 2 is a diagram'),
    Claim('lgla-32', 'lgla', 'Sec. 3.2, Fig. 4', "Decision-boundary illustration of the LLA margins for targets inside and outside an expert's group.", 'untestable', why='a diagram'),
    # ---- gcl
    Claim('gcl-1', 'gcl', 'Abstract; Sec. 1, Fig. 1 (toy four-class CIFAR-10-LT subset, 500 to 50 images); Sec. 4.5.1, Fig. 3 (CIFAR-10-LT, imbalance 100)', "With plain CE, head classes squeeze the tail: a tail class's features occupy a much smaller spatial span than a head class's.", 'trend', method='CE', quantity='feature_spread', chapter='gcl', figure='Figure 3', imbs=(100,)),
    Claim('gcl-2', 'gcl', "Sec. 1, Fig. 2; Sec. 3.1-3.2; contributions ('an evenly distributed embedding'); Sec. 4.5.1, Fig. 3 (CIFAR-10-LT, imbalance 100)", "GCL spreads the embedding more evenly: per-class feature spread varies less across classes than with CE (the paper's words: GCL enlarges the tail classes' embedding space; gcl-5 reads the tail's spread itself).", 'flatter', a='GCL (stage 1)', b='CE', quantity='feature_spread', chapter='gcl', figure='Figure 3', imbs=(100,)),
    Claim('gcl-3', 'gcl', 'Sec. 4.5.1, Fig. 3(a) (CIFAR-10-LT 100, training set)', "On the training images, GCL's embeddings of different classes are easier to separate than CE's.", 'more', a='GCL (stage 1)', b='CE', quantity='train_feature_separability', chapter='gcl', figure='Figure 3', imbs=(100,)),
    Claim('gcl-4', 'gcl', 'Sec. 4.5.1, Fig. 3(b) (test set)', 'On the test images the obscure (overlapping) region is smaller for GCL than for CE: its features are more separable.', 'more', a='GCL (stage 1)', b='CE', quantity='feature_separability', chapter='gcl', figure='Figure 3', imbs=(100,)),
    Claim('gcl-5', 'gcl', "Sec. 3.1; Sec. 2.2 (LDAM's hard margin 'does not truly enlarge the tail class span')", 'A hard margin (LDAM) shrinks tail samples towards the class anchor; GCL gives the tail classes a larger feature spread.', 'more', a='GCL (stage 1)', b='LDAM-DRW', quantity='tail_feature_spread', chapter='gcl', figure='Figure 3'),
    Claim('gcl-6', 'gcl', "Sec. 3.1 ('easy to overfit tail classes'); Sec. 3.2 (random clouds 'avoid overfitting')", "The hard margin overfits the tail classes; GCL's random clouds overfit them less.", 'untestable', why='needs per-class training accuracy, which the runs do not record'),
    Claim('gcl-7', 'gcl', "Abstract; Sec. 1; Sec. 3.2 ('reduce the softmax saturation ... tail class samples more active')", 'Clouds reduce softmax saturation for the tail: tail-class training images keep a larger gradient on their target logit under GCL than under CE.', 'untestable', why="needs each training image's 1 − p(y), which the runs do not record (their per-class gradient norms are the next claim)"),
    Claim('gcl-8', 'gcl', "Sec. 1 ('tail class samples can provide more gradients'); Sec. 3.2", 'Under GCL the tail classes receive more classifier gradient relative to the head than under CE.', 'more', a='GCL (stage 1)', b='CE', quantity='tail_head_gradient_ratio', chapter='gcl', figure='Per-class accuracy'),
    Claim('gcl-9', 'gcl', "Sec. 1; Sec. 3.3 ('biased classifier ... low classification accuracy of the tail classes')", 'Training on long-tailed data with CE gives a classifier biased to the head: per-class accuracy falls from head to tail.', 'trend', method='CE', chapter='gcl', figure='Per-class accuracy'),
    Claim('gcl-10', 'gcl', 'Sec. 3.3, Algorithm 1 (why stage 2 re-balances the classifier)', "After GCL's stage 1 the classifier is still biased to the head: per-class accuracy falls from head to tail.", 'trend', method='GCL (stage 1)', chapter='gcl', figure='Per-class accuracy'),
    Claim('gcl-11', 'gcl', 'Sec. 3.3', 'Re-training the classifier with CBEN sampling removes much of that bias: per-class accuracy is flatter after stage 2.', 'flatter', a='GCL', b='GCL (stage 1)', chapter='gcl', figure='Per-class accuracy'),
    Claim('gcl-12', 'gcl', 'Sec. 4.4.1, Table 1 (CIFAR-10-LT)', 'GCL beats CE.', 'beats', a='GCL', b='CE', chapter='gcl', figure='Table 1', imbs=(200, 100, 50)),
    Claim('gcl-13', 'gcl', 'Sec. 4.4.1, Table 1 (CIFAR-10-LT)', 'GCL beats CE + mixup.', 'beats', a='GCL', b='CE + mixup', chapter='gcl', figure='Table 1', imbs=(200, 100, 50)),
    Claim('gcl-14', 'gcl', 'Sec. 4.4.1, Table 1 (CIFAR-10-LT)', 'GCL beats LDAM-DRW.', 'beats', a='GCL', b='LDAM-DRW', chapter='gcl', figure='Table 1', imbs=(200, 100, 50)),
    Claim('gcl-15', 'gcl', 'Sec. 4.4.1, Table 1 (CIFAR-10-LT)', 'GCL beats CE + mixup + cRT.', 'beats', a='GCL', b='cRT', kb=(('backbone', 'CE + mixup'),), chapter='gcl', figure='Table 1', imbs=(200, 100, 50), printed=('cifar10', 'Table 1: GCL', 'Table 1: CE loss + mixup + cRT')),
    Claim('gcl-16', 'gcl', 'Sec. 4.4.1, Table 1 (CIFAR-10-LT)', 'GCL beats MiSLAS (the second best; +1.72 at 200).', 'beats', a='GCL', b='MiSLAS', chapter='leaderboard', figure='The table', imbs=(200, 100, 50)),
    Claim('gcl-17', 'gcl', 'Sec. 4.4.1, Table 1', 'GCL beats De-confound-TDE, BBN and contrastive learning (Hybrid-SC).', 'untestable', imbs=(200, 100, 50), why='none of these is trained here'),
    Claim('gcl-18', 'gcl', 'Sec. 4.5.2, Table 3 (CIFAR-10-LT 100)', "The log-difference cloud size beats the 'cos.' strategy (same CBEN + cRT stage 2).", 'beats', a='GCL', b='GCL', kb=(('cloud', 'cos'),), chapter='gcl', figure='Table 3', imbs=(100,), printed=('cifar10', 'Table 3: GCL (log. diff.)', 'Table 3: GCL (cos.)')),
    Claim('gcl-19', 'gcl', 'Sec. 4.5.2, Table 3 (CIFAR-10-LT 100)', "The log-difference cloud size beats the 'pow. diff. (e:1/3)' strategy (same CBEN + cRT stage 2).", 'beats', a='GCL', b='GCL', kb=(('cloud', 'pow3'),), chapter='gcl', figure='Table 3', imbs=(100,), printed=('cifar10', 'Table 3: GCL (log. diff.)', 'Table 3: GCL (pow. diff. e:1/3)')),
    Claim('gcl-20', 'gcl', 'Sec. 4.5.2, Table 3 (CIFAR-10-LT 100)', "The log-difference cloud size beats the 'pow. diff. (e:1/4)' strategy (same CBEN + cRT stage 2).", 'beats', a='GCL', b='GCL', kb=(('cloud', 'pow4'),), chapter='gcl', figure='Table 3', imbs=(100,), printed=('cifar10', 'Table 3: GCL (log. diff.)', 'Table 3: GCL (pow. diff. e:1/4)')),
    Claim('gcl-21', 'gcl', 'Sec. 4.5.3, Table 4 (CIFAR-10-LT 100)', 'The CBEN sampler beats the IB sampler for cRT on the GCL backbone.', 'beats', a='GCL', b='GCL', kb=(('sampler', 'instance'),), chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 4: GCL (CBEN, cRT)', 'Table 4: GCL (IB, cRT)')),
    Claim('gcl-22', 'gcl', 'Sec. 4.5.3, Table 4 (CIFAR-10-LT 100)', 'The CBEN sampler beats the CB sampler for cRT on the GCL backbone.', 'beats', a='GCL', b='GCL', kb=(('sampler', 'class_balanced'),), chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 4: GCL (CBEN, cRT)', 'Table 4: GCL (CB, cRT)')),
    Claim('gcl-23', 'gcl', 'Sec. 4.5.3, Table 4 (CIFAR-10-LT 100)', 'The CBEN sampler beats the EN sampler for cRT on the GCL backbone.', 'beats', a='GCL', b='GCL', kb=(('sampler', 'effective_number'),), chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 4: GCL (CBEN, cRT)', 'Table 4: GCL (EN, cRT)')),
    Claim('gcl-24', 'gcl', 'Sec. 4.5.3, Table 5 (CIFAR-10-LT 100)', "cRT beats 'w/o RT' as GCL's stage 2 (the text says +1.64; the table's gap is 2.16).", 'beats', a='GCL', b='GCL (stage 1)', chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 5: GCL (CBEN, cRT)', 'Table 5: GCL (w/o RT)')),
    Claim('gcl-25', 'gcl', 'Sec. 4.5.3, Table 5 (CIFAR-10-LT 100)', "cRT beats 'CBEN + LWS' as GCL's stage 2.", 'beats', a='GCL', b='GCL', kb=(('stage2', 'lws'),), chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 5: GCL (CBEN, cRT)', 'Table 5: GCL (CBEN, LWS)')),
    Claim('gcl-26', 'gcl', 'Sec. 4.5.3, Table 5 (CIFAR-10-LT 100)', "cRT beats 'CBEN + τ-norm' as GCL's stage 2.", 'beats', a='GCL', b='GCL', kb=(('stage2', 'tau_norm'),), chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 5: GCL (CBEN, cRT)', 'Table 5: GCL (CBEN, tau-nor.)')),
    Claim('gcl-27', 'gcl', 'Table 5', 'Re-training helps: LWS on CBEN batches beats no re-training.', 'beats', a='GCL', b='GCL (stage 1)', ka=(('stage2', 'lws'),), chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 5: GCL (CBEN, LWS)', 'Table 5: GCL (w/o RT)')),
    Claim('gcl-28', 'gcl', 'Table 5', "Re-training helps: τ-norm beats no re-training. Caveat: on a cosine classifier τ-norm is the identity, so the book's row equals 'w/o RT' by construction.", 'beats', a='GCL', b='GCL (stage 1)', ka=(('stage2', 'tau_norm'),), chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 5: GCL (CBEN, tau-nor.)', 'Table 5: GCL (w/o RT)')),
    Claim('gcl-29', 'gcl', "Sec. 4.5.3 ('IB+cRT degrades model performance')", 'Re-training the classifier on instance-balanced batches is worse than no re-training (classifier overfitting).', 'beats', a='GCL (stage 1)', b='GCL', kb=(('sampler', 'instance'),), chapter='gcl', figure='Tables 4 and 5', imbs=(100,), printed=('cifar10', 'Table 5: GCL (w/o RT)', 'Table 4: GCL (IB, cRT)')),
    Claim('gcl-30', 'gcl', "Sec. 4.5.3 ('even without any classifier re-training ... beat most state-of-the-arts including two-stage methods')", "GCL's stage 1 alone beats the two-stage CE + mixup + cRT.", 'beats', a='GCL (stage 1)', b="cRT", kb=(("backbone", "CE + mixup"),), chapter='gcl', figure='Table 1', imbs=(100,), printed=('cifar10', 'Table 5: GCL (w/o RT)', 'Table 1: CE loss + mixup + cRT')),
    Claim('gcl-31', 'gcl', 'Sec. 4.5.3', "GCL's stage 1 alone beats LDAM-DRW.", 'beats', a='GCL (stage 1)', b='LDAM-DRW', chapter='gcl', figure='Table 1', imbs=(100,), printed=('cifar10', 'Table 5: GCL (w/o RT)', 'Table 1: LDAM-DRW')),
    Claim('gcl-32', 'gcl', 'Sec. 4.5.3', "GCL's stage 1 alone beats BBN by 0.7.", 'untestable', imbs=(100,), why='BBN is not trained here'),
    Claim('gcl-33', 'gcl', "Sec. 3.3 ('class-balanced sampling will lead to repeat training for tail classes')", 'CBEN draws the tail classes less often than class-balanced sampling (and more often than instance-balanced).', 'less', a='cben', b='class_balanced', quantity='tail_sampling_share', chapter='gcl', figure='Samplers'),
    Claim('gcl-34', 'gcl', 'Sec. 4.4.2, Table 2 (ImageNet-LT, iNaturalist 2018, Places-LT)', 'GCL beats DisAlign, MiSLAS, CE + mixup + cRT and the rest on the large-scale sets.', 'untestable', why='ImageNet-LT / iNaturalist / Places-LT only'),
    Claim('gcl-35', 'gcl', 'Sec. 3.1, Eq. 3', 'The softmax gradient on the target logit vanishes quickly as the logit difference grows (softmax saturation).', 'untestable', why='a property of the softmax formula, drawn analytically; no run tests it (the run-based claim is the tail-gradient one)'),
    Claim('gcl-36', 'gcl', "Sec. 1; Sec. 3.3 ('classifier weights of tail classes receive much more penalty than positive signals')", "Head-class samples send overwhelming discouraging (negative) gradients to the tail classes' weights.", 'untestable', why='the book records per-class classifier gradient norms, not their split into positive and negative parts'),
    Claim('gcl-37', 'gcl', 'Fig. 2', 'Overview: a larger cloud on the tail logit corresponds to a larger feature cloud towards the tail anchor.', 'untestable', why='a diagram'),
    # ---- whitening
    Claim('whitening-1', 'whitening', 'Sec. 3.1, Fig. 2 (CIFAR-10-LT 200)', 'Features entering the classifier are more correlated across channels after training on long-tailed data than on balanced data.', 'more', a='CE', b='CE, balanced', quantity='channel_correlation', chapter='whitening', figure='Figure 2', imbs=(200,)),
    Claim('whitening-2', 'whitening', 'Sec. 3.3; Fig. 2 (third row); App. II, Fig. 8', "Channel whitening decorrelates the classifier's input features.", 'less', a='CW', b='CE', quantity='channel_correlation', chapter='whitening', figure='Figure 2', imbs=(200,)),
    Claim('whitening-3', 'whitening', 'Sec. 3.1, 3.3; App. II, Fig. 7(a, b)', 'The singular-value curve of the pooled features (Layer_p) is steeper on long-tailed than on balanced data (lower feature entropy).', 'more', a='CE', b='CE, balanced', quantity='singular_value_decay', chapter='whitening', figure='Figures 7 and 11', imbs=(200,)),
    Claim('whitening-4', 'whitening', 'Sec. 3.3; App. II, Fig. 7(b)', 'On long-tailed data the singular-value curves get steeper as the layers get deeper (Layer_p steepest).', 'untestable', imbs=(200,), why="Figure 7 draws each stage's singular values, but the stages have different numbers of channels (curves of different lengths) and the paper gives no measure of steepness that compares them"),
    Claim('whitening-5', 'whitening', 'App. II, Fig. 7(c)', "After channel whitening the singular values are larger (the curve is smoothed) at the classifier's input.", 'less', a='CW', b='CE', quantity='singular_value_decay', chapter='whitening', figure='Figures 7 and 11', imbs=(200,)),
    Claim('whitening-6', 'whitening', 'App. II, Fig. 11', "With LDAM the pooled features' singular-value curve is also steeper than on balanced data.", 'more', a='LDAM-DRW', b='CE, balanced', quantity='singular_value_decay', chapter='whitening', figure='Figures 7 and 11', imbs=(200,)),
    Claim('whitening-7', 'whitening', 'App. II, Fig. 11', "Channel whitening smooths the LDAM network's spectrum too.", 'less', a='CW & LDAM-DRW', b='LDAM-DRW', quantity='singular_value_decay', chapter='whitening', figure='Figures 7 and 11', imbs=(200,)),
    Claim('whitening-8', 'whitening', 'Sec. 3.2.2, Eq. 10 (derived, not measured); Fig. 2 (CIFAR-10-LT, imbalance 200)', "Correlated features make the condition number of the feature covariance (and so of the classifier's Hessian) larger on long-tailed data.", 'more', a='CE', b='CE, balanced', quantity='condition_number', chapter='whitening', figure='Figure 2', imbs=(200,)),
    Claim('whitening-9', 'whitening', 'Sec. 3.2.2-3.3; Fig. 2 (CIFAR-10-LT, imbalance 200)', 'Channel whitening lowers that condition number.', 'less', a='CW', b='CE', quantity='condition_number', chapter='whitening', figure='Figure 2', imbs=(200,)),
    Claim('whitening-10', 'whitening', 'Sec. 3.1, 3.2.1, Fig. 3 (CIFAR-10-LT 200)', 'With CE, tail classes get fewer true-positive predictions.', 'trend', method='CE', quantity='accuracy', chapter='whitening', figure='Figure 3', imbs=(200,)),
    Claim('whitening-11', 'whitening', 'Sec. 3.2.1, Fig. 3', 'With CE, tail classes get smaller classifier gradient norms.', 'trend', method='CE', quantity='gradient_norm', chapter='whitening', figure='Figure 3', imbs=(200,)),
    Claim('whitening-12', 'whitening', 'Sec. 3.2.1, Fig. 3', 'With CE, tail classes end with smaller classifier weight norms.', 'trend', method='CE', quantity='weight_norm', chapter='whitening', figure='Figure 3', imbs=(200,)),
    Claim('whitening-13', 'whitening', "Sec. 3.2.3 ('the positive prediction confidences of the head classes are greatly reduced after logits margin')", "LDAM's margin lowers the head classes' confidence in their true class.", 'untestable', imbs=(200,), why="needs LDAM-DRW's per-class probabilities, which its recording does not keep"),
    Claim('whitening-14', 'whitening', 'Sec. 1; Sec. 3.2.3, Fig. 3', 'LDAM makes the per-class gradient norms more imbalanced than CE does.', 'flatter', a='CE', b='LDAM-DRW', quantity='gradient_norm', chapter='whitening', figure='Figure 3', imbs=(200,)),
    Claim('whitening-15', 'whitening', 'Sec. 1; Sec. 3.2.3, Fig. 3', "LDAM makes the per-class weight norms more imbalanced (larger for head classes) than CE does. Caveat: LDAM's cosine head normalises the weights in its logits.", 'flatter', a='CE', b='LDAM-DRW', quantity='weight_norm', chapter='whitening', figure='Figure 3', imbs=(200,)),
    Claim('whitening-16', 'whitening', 'Sec. 3.2.3; App. II, Fig. 5', "LDAM's training loss drops in violent turbulence compared with CE (sharper minima).", 'untestable', why='the runs record the training loss once an epoch, not at every step'),
    Claim('whitening-17', 'whitening', 'App. II, Fig. 5', 'With channel whitening the training loss stays higher than without (tail classes keep taking part in updates).', 'more', a='CW', b='CE', quantity='train_loss', chapter='whitening', figure='Figures 5 and 6'),
    Claim('whitening-18', 'whitening', 'App. II, Fig. 5', 'The same holds for LDAM: CW & LDAM keeps a higher training loss than LDAM.', 'more', a='CW & LDAM-DRW', b='LDAM-DRW', quantity='train_loss', chapter='whitening', figure='Figures 5 and 6'),
    Claim('whitening-19', 'whitening', "App. II, Fig. 6; Sec. 3.3 ('decouples the weight update')", 'Channel whitening gives the tail classes larger classifier gradient norms instead of near-zero ones.', 'more', a='CW', b='CE', quantity='tail_gradient_norm', chapter='whitening', figure='Figures 5 and 6'),
    Claim('whitening-20', 'whitening', 'App. II, Fig. 6', 'The same for LDAM: CW & LDAM gives the tail classes larger gradient norms than LDAM.', 'more', a='CW & LDAM-DRW', b='LDAM-DRW', quantity='tail_gradient_norm', chapter='whitening', figure='Figures 5 and 6'),
    Claim('whitening-21', 'whitening', "Sec. 3.3; App. II, Fig. 8 (CIFAR-10-LT 200: 'improving the performance of tail classes')", 'Whitening reshapes the decision boundary towards the head classes and so raises tail-class accuracy.', 'beats', a='CW', b='CE', metric='tail', chapter='whitening', figure='Figure 3', imbs=(200,)),
    Claim('whitening-22', 'whitening', 'Sec. 3.4, Figs. 1, 4', 'B3RS batches are less imbalanced than random (instance) batches: the largest class share of a batch over the smallest.', 'less', a='b3rs', b='instance', quantity='batch_imbalance', chapter='whitening', figure='Figure 4'),
    Claim('whitening-23', 'whitening', "Sec. 3.4 ('still has a long-tailed distribution, but it is alleviated')", 'B3RS batches still hold more images of head classes than of tail classes: more imbalanced than class-balanced batches (ratio 1).', 'more', a='b3rs', b='class_balanced', quantity='batch_imbalance', chapter='whitening', figure='Figure 4'),
    Claim('whitening-24', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'Channel whitening improves CE (the paper: by 0.6 to 4.7 points across its six factors).', 'beats', a='CW', b='CE', chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100, 50, 10)),
    Claim('whitening-25', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'Channel whitening greatly improves LDAM.', 'beats', a='CW & LDAM-DRW', b='LDAM-DRW', chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100, 50, 10)),
    Claim('whitening-26', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'Adding LDAM to channel whitening helps.', 'beats', a='CW & LDAM-DRW', b='CW', chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100, 50, 10)),
    Claim('whitening-27', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'CW & LDAM is the best model at large imbalance (bold at 1000-100): it beats every other row of Table 1 run here (CE, LDAM, CW and the four BET models); the verdict is the hardest of those comparisons.', 'beats', a='CW & LDAM-DRW', b='BET', rivals=('CE', 'LDAM-DRW', 'CW', 'BET & CW', 'BET & LDAM-DRW', 'BET & LDAM-DRW & CW'), chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100)),
    Claim('whitening-28', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'CW & LDAM beats BET & CW at large imbalance.', 'beats', a='CW & LDAM-DRW', b='BET & CW', chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100)),
    Claim('whitening-29', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'CW & LDAM beats BET & LDAM at large imbalance.', 'beats', a='CW & LDAM-DRW', b='BET & LDAM-DRW', chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100)),
    Claim('whitening-30', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'CW & LDAM beats BET & LDAM & CW at large imbalance.', 'beats', a='CW & LDAM-DRW', b='BET & LDAM-DRW & CW', chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100)),
    Claim('whitening-31', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'BET improves end-to-end CE training.', 'beats', a='BET', b='CE', chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100, 50, 10)),
    Claim('whitening-32', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'BET alone is the best end-to-end method at imbalance 10 and 50 (text): it beats every other end-to-end row of Table 1 run here (CE, LDAM, CW, CW & LDAM and the other BET models); the verdict is the hardest of those comparisons. Note: the table has BET behind LDAM at 50 (81.2 vs 81.6), and bold only at 10.', 'beats', a='BET', b='LDAM-DRW', rivals=('CE', 'CW', 'CW & LDAM-DRW', 'BET & CW', 'BET & LDAM-DRW', 'BET & LDAM-DRW & CW'), chapter='whitening', figure='Tables 1 and 2', imbs=(50, 10)),
    Claim('whitening-33', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'BET alone beats CW & LDAM at imbalance 10 (89.1 vs 87.9).', 'beats', a='BET', b='CW & LDAM-DRW', chapter='whitening', figure='Tables 1 and 2', imbs=(10,)),
    Claim('whitening-34', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'Adding channel whitening to BET helps (not at 10).', 'beats', a='BET & CW', b='BET', chapter='whitening', figure='Tables 1 and 2', imbs=(1000, 500, 200, 100, 50)),
    Claim('whitening-35', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', "Adding BET to channel whitening helps at lower imbalance ('BET suits a low imbalance ratio').", 'beats', a='BET & CW', b='CW', chapter='whitening', figure='Tables 1 and 2', imbs=(100, 50, 10)),
    Claim('whitening-36', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'Adding BET to LDAM helps at low imbalance.', 'beats', a='BET & LDAM-DRW', b='LDAM-DRW', chapter='whitening', figure='Tables 1 and 2', imbs=(50, 10)),
    Claim('whitening-37', 'whitening', 'Sec. 4.3, Table 1 (CIFAR-10-LT)', 'Adding BET to CW & LDAM helps at imbalance 10.', 'beats', a='BET & LDAM-DRW & CW', b='CW & LDAM-DRW', chapter='whitening', figure='Tables 1 and 2', imbs=(10,)),
    Claim('whitening-38', 'whitening', "Sec. 4.3 ('end-to-end training has achieved better performance than decoupled training method [17, 56] on the CIFAR-10-LT'); Sec. 1; Table 1 (its decoupled row, BBN, at 100, 50 and 10)", "End-to-end CW & LDAM beats decoupled training (Kang et al.'s cRT). Note: the paper's CIFAR table prints no cRT row; against BBN it ties at 100 and loses at 10.", 'beats', a='CW & LDAM-DRW', b='cRT', chapter='leaderboard', figure='The table', imbs=(100, 50, 10)),
    Claim('whitening-39', 'whitening', 'Sec. 4.3, Table 1', 'The CW and BET variants beat CB-CE, Focal, MW-Net and (CW & LDAM) BBN on CIFAR-10-LT.', 'untestable', imbs=(1000, 500, 200, 100, 50, 10), why='none of these is trained here'),
    Claim('whitening-40', 'whitening', 'Sec. 4.3 (Effectiveness of BET), Table 2 (CIFAR-100-LT)', 'BET & LDAM & CW is the best model on CIFAR-100-LT at every factor; it beats LDAM.', 'untestable', imbs=(500, 200, 100, 50, 10), why='CIFAR-100-LT only'),
    Claim('whitening-41', 'whitening', 'Sec. 4.3 (Effectiveness of CW), Table 2', 'Channel whitening improves CE by 0.6-2 points on CIFAR-100-LT. Note: the table has CW behind CE at 50 (43.2 vs 43.8).', 'untestable', imbs=(500, 200, 100, 10), why='CIFAR-100-LT only'),
    Claim('whitening-42', 'whitening', 'Sec. 4.3 (Channel Whitening with LDAM), Table 2', 'On CIFAR-100-LT at large imbalance CW & LDAM is worse than LDAM.', 'untestable', imbs=(500, 200), why='CIFAR-100-LT only'),
    Claim('whitening-43', 'whitening', 'Sec. 4.3 (Effectiveness of BET), Table 2', 'On CIFAR-100-LT BET alone is below LDAM.', 'untestable', imbs=(500, 200, 100, 50, 10), why='CIFAR-100-LT only'),
    Claim('whitening-44', 'whitening', 'Table 2', 'BET & LDAM & CW beats Mixup, CB-CE, Focal, MW-Net and BBN on CIFAR-100-LT.', 'untestable', imbs=(500, 200, 100, 50, 10), why='CIFAR-100-LT only (and CB-CE, Focal, MW-Net, BBN are not trained here)'),
    Claim('whitening-45', 'whitening', 'Sec. 4.3, Table 3 (ImageNet-LT, ResNet-10)', 'On ImageNet-LT CW & LDAM is best (39.5, above cRT); CW lifts medium and few-shot accuracy without hurting many-shot; BET alone is below CE.', 'untestable', why='ImageNet-LT only'),
    Claim('whitening-46', 'whitening', 'Sec. 4.4, Table 4, Fig. 9 (ImageNet-LT)', 'CW & LDAM has not converged at 90 epochs; 120 epochs gives better accuracy.', 'untestable', why='ImageNet-LT only'),
    Claim('whitening-47', 'whitening', 'Sec. 4.4, Table 5, Fig. 10 (ImageNet-LT)', 'With BET the accuracy peaks right after each learning-rate drop; a denser decay schedule lifts BET & LDAM & CW to 39.2.', 'untestable', why='ImageNet-LT only'),
    Claim('whitening-48', 'whitening', 'App. III.2, Tables 7-9 (ImageNet-LT)', 'B3RS/BET are insensitive to the block number, basic sampling ratio and T2; small G and large r_min favour few-shot classes.', 'untestable', why='ImageNet-LT only'),
    Claim('whitening-49', 'whitening', 'Sec. 3.2.1, Property 1', 'Correlated features make the gradient directions of all class weights nearly the same; whitening decouples the weight updates.', 'untestable', why='the book records per-class gradient norms, not gradient directions'),
    Claim('whitening-50', 'whitening', 'Sec. 3.2.3', 'LDAM makes the model converge to sharper minima than CE.', 'untestable', why='the book records no Hessian or sharpness (the loss-turbulence claim is its proxy)'),
    Claim('whitening-51', 'whitening', 'Sec. 3.4', 'Training on B3RS batches alone differs little from random over-sampling.', 'untestable', why='the book does not train B3RS alone or random over-sampling'),
    Claim('whitening-52', 'whitening', 'Figs. 1, 4', 'Diagrams of the end-to-end framework and of block-based sampling.', 'untestable', why='a diagram'),
]


# The row each paper prints for a book method (its own name for it), to read the paper's own gap for a claim off
# ltnb.reference: facts of the papers' tables, not of the book's runs. A method a paper prints under no row of
# this map has no gap here (LDAM-DRW in the MARR paper, printed as "LDAM" without DRW, say).
PRINTED = {
    "angular": {"CE + mixup": "MiSLAS_S1", "L2A (stage 1)": "L2A_S1", "L2A (stage 2)": "L2A_S2", "MiSLAS": "MiSLAS_S2",
                "ABS": "ABS", "ATL (AEM)": "ATL_AEM", "ATL (ALAS)": "ATL_ALAS", "ATL (all)": "ATL_all"},
    "marr": {"CE": "Softmax", "MARR": "MARR", "Balanced Softmax": "Balanced Softmax", "DisAlign": "DisAlign",
             "LWS": "Decouple-LWS", "cRT": "Decouple-cRT", "LDAM-DRW": "LDAM"},  # "LDAM" as in whitening's, below
    "lgla": {"LDAM-DRW": "LDAM+DRW", "LGLA": "Ours (GC)", "MiSLAS": "MiSLAS"},
    "gcl": {"CE": "CE loss", "CE + mixup": "CE loss + mixup", "GCL": "GCL", "LDAM-DRW": "LDAM-DRW", "MiSLAS": "MisLAS"},
    "whitening": {"CE": "CE", "BET": "Ours (w/BET)", "CW": "Ours (w/CW)", "BET & CW": "Ours (w/BET & CW)",
                  "BET & LDAM-DRW": "Ours (w/BET & LDAM)", "BET & LDAM-DRW & CW": "Ours (w/BET & LDAM & CW)",
                  "CW & LDAM-DRW": "Ours (w/CW & LDAM)",
                  # printed "LDAM", at LDAM-DRW's level (77.2 at 100, MARR's 78.9; Cao et al.: LDAM-DRW 77.03, LDAM
                  # alone 73.35); the marr chapter's Table 2 shows that row beside LDAM-DRW too
                  "LDAM-DRW": "LDAM"},
}
SPLIT_OF = {"accuracy": ("overall",), "tail": ("tail", "few"), "few": ("few", "tail")}  # a claim's metric, as printed
PAPER_DATASET = "cifar10"


def paper_gap(claim: Claim, imb: float = 100.0) -> tuple[float, str]:
    """The gap the paper prints for a "beats" or "gain" claim on CIFAR-10-LT, in points and in the claimed direction,
    and where ("CIFAR-10-LT Table 2, imb 100"); NaN where its table lacks a side (or the claim sets knobs). Read at
    ``imb`` where the paper makes the claim there, else at the first factor it names (100 if none)."""
    if claim.kind not in ("beats", "beats_few", "gain"):
        return float("nan"), ""
    if claim.printed:
        return _printed_gap(claim, imb)
    if claim.ka or claim.kb:
        return float("nan"), ""
    names = PRINTED.get(claim.paper, {})
    sides = [claim.a, claim.b or claim.a] + ([claim.a0, claim.b0] if claim.kind == "gain" else [])
    if not all(n in names for n in sides):
        return float("nan"), ""
    at = float(imb) if float(imb) in {float(f) for f in claim.imbs} or not claim.imbs else float(claim.imbs[0])
    frame = reference.reported(paper=claim.paper, dataset=PAPER_DATASET, imb=int(at))
    metric = "few" if claim.kind == "beats_few" else claim.metric
    frame = frame[frame["split"].isin(SPLIT_OF.get(metric, ())) & (frame["metric"] == "top1")]
    named = [int(t) for t in __import__("re").findall(r"Table (\d+)", claim.where)]
    tables = sorted(set(frame["table"]), key=lambda t: (int(t.split()[-1]) not in named, t))
    for table in tables:
        rows = frame[frame["table"] == table]
        values = []
        for n in sides:
            hit = rows[rows["method"].str.lower() == names[n].lower()]
            if not len(hit):
                break
            values.append(float(hit["value"].iloc[0]))
        else:
            gap = values[0] - values[1] if claim.kind != "gain" else (values[0] - values[2]) - (values[1] - values[3])
            return gap, f"{DATASET_WORDS[PAPER_DATASET]} ({table}, imb {at:g})"
    return float("nan"), ""


DATASET_WORDS = {"cifar10": "CIFAR-10-LT", "cifar100": "CIFAR-100-LT"}


def printed_row(paper: str, dataset: str, row: str):
    """The reference rows a claim's ``printed`` names ("Table 4: BALMS @ w/ RandAugment"): overall top-1, one per
    factor the table prints the row at."""
    table, _, rest = row.partition(": ")
    method, _, part = rest.partition(" @ ")
    frame = reference.reported(paper=paper, dataset=dataset)
    frame = frame[(frame["table"] == table) & (frame["method"].str.lower() == method.lower())
                  & (frame["split"] == "overall") & (frame["metric"] == "top1")]
    if part:
        frame = frame[frame["setting"].str.contains(part, regex=False)]
    if frame.empty or frame["imb"].duplicated().any():
        raise ValueError(f"{paper}: {row!r} names {len(frame)} rows of the reference on {dataset}, "
                         "not one per factor: name the row by a part of its setting ('@ ...')")
    return frame


def _printed_gap(claim: Claim, imb: float) -> tuple[float, str]:
    """A "beats" claim's gap from the two rows its ``printed`` names, at ``imb`` where both print it there, else at the
    first factor the claim names, else at the one factor they share (NaN where none of these is printed)."""
    dataset, row_a, row_b = claim.printed
    fa, fb = (printed_row(claim.paper, dataset, r).set_index("imb")["value"] for r in (row_a, row_b))
    shared = sorted(set(fa.index) & set(fb.index))
    first = int(claim.imbs[0]) if claim.imbs else None
    at = int(imb) if int(imb) in shared else first if first in shared else shared[0] if len(shared) == 1 else None
    if at is None:
        return float("nan"), ""
    tables = sorted({r.partition(":")[0].split()[-1] for r in (row_a, row_b)}, key=int, reverse=True)
    tables = "Table " + tables[0] if len(tables) == 1 else "Tables " + " and ".join(tables)
    return float(fa[at] - fb[at]), f"{DATASET_WORDS[dataset]} ({tables}, imb {at:g})"


def by_id(cid: str) -> Claim:
    for c in CLAIMS:
        if c.id == cid:
            return c
    raise KeyError(f"no claim {cid!r}; the claims are {[c.id for c in CLAIMS]}")


def of_chapter(chapter: str, figure: str | None = None) -> list[Claim]:
    """The testable claims a chapter shows (at ``figure``, when given), in order."""
    return [c for c in CLAIMS if c.chapter == chapter and c.kind != "untestable"
            and (figure is None or c.figure == figure)]


# run knobs and metrics in the chapters' words, for the numbers a verdict prints
KNOB_WORDS = {"prune": lambda v: {"avh": "pruned by AVH", "el2n": "pruned by EL2N", "random": "pruned at random",
                                  "classwise": "pruned class-wise at random"}.get(v, f"pruned by {v}"),
              "fraction": lambda v: "at each fraction" if v == "each" else f"{v:g} pruned",
              "s_abs": lambda v: f"s = {v:g}", "form_abs": lambda v: f"{v} F",
              "sampler": lambda v: {"instance": "instance-balanced sampling", "class_balanced": "class-balanced sampling",
                                    "effective_number": "effective-number sampling", "cben": "CBEN sampling",
                                    "b3rs": "B3RS batches"}.get(v, f"{v} sampling"),
              "stage2": lambda v: {"tau_norm": "τ-norm", "lws": "LWS", "crt": "cRT"}.get(v, v),
              "expert_type": lambda v: {"ic": "independent convolutions (IC)", "gc": "group convolution (GC)"}.get(v, v),
              "cloud": lambda v: {"pow3": "power cloud, e = 1/3", "pow4": "power cloud, e = 1/4",
                                  "cos": "cosine cloud", "log": "log cloud"}.get(v, f"{v} cloud"),
              "backbone": lambda v: f"on the {v} backbone",
              "backbone_imb": lambda v: f"backbone trained at imbalance {v:g}",
              "loss": lambda v: {"ce": "Softmax", "balanced_softmax": "BALMS", "cla": "CLA"}.get(v, v),
              "aaw": lambda v: "with AAW" if v else "without AAW",
              "randaugment": lambda v: "with RandAugment" if v else "without RandAugment",
              "experts": lambda v: f"K = {v} experts", "tau": lambda v: f"τ = {v:g}",
              "f_form": lambda v: f"{v} f", "gamma": lambda v: f"γ = {v:g}"}
METRIC_WORDS = {"accuracy": "accuracy", "tail": "tail-class accuracy", "few": "few-class accuracy",
                "many": "many-class accuracy", "medium": "medium-class accuracy", "head": "head-class accuracy",
                "mid": "mid-class accuracy", "ece": "ECE", "macro_f1": "macro F1", "train_loss": "last-epoch training loss",
                "tail_gradient_norm": "tail classes' classifier gradient norm",
                "tail_head_gradient_ratio": "tail over head classifier gradient norm"}
LGLA_ROWS = {(loss, aaw): name + (" + AAW" if aaw else "") for loss, name in (("ce", "Softmax experts"),
             ("balanced_softmax", "BALMS experts")) for aaw in (False, True)} | {("cla", False): "CLA (LGLA without AAW)", ("cla", True): "LGLA"}


def run_words(method: str, knobs=()) -> str:
    """A method with its knobs as the chapters name it: 'MARR (γ = 2)'; LGLA's loss and AAW name Table 5's row (the
    one multi-expert network under another loss: 'BALMS experts', 'CLA (LGLA without AAW)')."""
    d, rest = dict(knobs), tuple((k, v) for k, v in knobs if k not in ("loss", "aaw"))
    if method == "LGLA" and len(rest) < len(tuple(knobs)):
        return LGLA_ROWS[(d.get("loss", "cla"), bool(d.get("aaw", True)))] + knob_words(rest)
    return f"{method}{knob_words(tuple(knobs))}"


def knob_words(knobs) -> str:
    """A run's knobs in the chapters' words: ' (pruned by AVH, at each fraction)'."""
    return f" ({', '.join(KNOB_WORDS.get(k, lambda v, k=k: f'{k} {v}')(v) for k, v in knobs)})" if knobs else ""
