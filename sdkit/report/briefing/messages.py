"""The briefing's plain-words messages (English, Chinese), merged into
:data:`sdkit.report.i18n.MESSAGES`.

Kept apart from :mod:`sdkit.report.i18n` only for size; :func:`sdkit.report.i18n.text` reads
them like every other message. Findings say what the numbers mean ("early 2017",
"about 14 months before Baseline"); the technical measure (the transition time,
Morris mu*, the Sobol index) goes into a footnote (``note.*``). Times and durations
are worded by :mod:`sdkit.report.wording` in the model's own time unit.
"""

from __future__ import annotations

__all__ = ["BRIEFING_MESSAGES"]

#: Message id -> language -> text (``str.format`` placeholders allowed).
BRIEFING_MESSAGES: dict[str, dict[str, str]] = {
    # times and durations (sdkit.report.wording)
    "when.early": {"en": "early {year}", "zh": "{year} 年初"},
    "when.mid": {"en": "mid-{year}", "zh": "{year} 年年中"},
    "when.late": {"en": "late {year}", "zh": "{year} 年末"},
    "when.point": {"en": "{unit} {time}", "zh": "第 {time} {unit}"},
    "span.about": {"en": "about {count} {unit}", "zh": "约 {count} {unit}"},
    "span.less": {"en": "less than one {unit}", "zh": "不到 1 {unit}"},
    "shift.before": {"en": "{span} before {base}", "zh": "比{base}早{span}"},
    "shift.after": {"en": "{span} after {base}", "zh": "比{base}晚{span}"},
    "shift.same": {"en": "at the same time as {base}", "zh": "与{base}同时"},
    "rel.above": {"en": "{share} above {base}", "zh": "比{base}高 {share}"},
    "rel.below": {"en": "{share} below {base}", "zh": "比{base}低 {share}"},
    "rel.same": {"en": "the same as {base}", "zh": "与{base}相同"},
    "list.and": {"en": " and ", "zh": "，"},
    "axis.no_unit": {"en": "no unit", "zh": "无单位"},
    "axis.parameter": {"en": "Parameter", "zh": "参数"},
    "axis.morris": {"en": "Effect across each parameter's range ({unit})",
                    "zh": "各参数在其取值范围内的影响（{unit}）"},
    "axis.sobol": {"en": "Share of the output's variance", "zh": "占输出方差的比例"},
    "axis.rho": {"en": "Rank correlation with the output (-1 to +1)",
                 "zh": "与输出的秩相关系数（-1 至 +1）"},
    "axis.oat": {"en": "Change from the parameter's low to its high value ({unit})",
                 "zh": "参数由低值变为高值时的变化（{unit}）"},
    "chart.lhs": {"en": "{output}", "zh": "{output}"},
    "chart.montecarlo": {"en": "{output}", "zh": "{output}"},
    "chart.oat": {"en": "{output}", "zh": "{output}"},
    "index.rho": {"en": "rank correlation", "zh": "秩相关系数"},
    # output names (sensitivity outputs)
    "output.move_into": {"en": "the start of {stage}", "zh": "进入{stage}的时间"},
    "output.value_at": {"en": "{variable} in {time}", "zh": "{time}的{variable}"},
    "output.max": {"en": "the peak of {variable}", "zh": "{variable}的峰值"},
    "output.final": {"en": "{variable} at the end of the run", "zh": "运行结束时的{variable}"},
    "output.reach": {"en": "the moment {variable} reaches {level}",
                     "zh": "{variable}达到 {level} 的时间"},
    # findings in plain words
    "finding.stage_item": {"en": "{stage} begins in {when}", "zh": "{when}进入{stage}"},
    "finding.base_stages": {"en": "In the {base} scenario, {items}.",
                            "zh": "在{base}中，{items}。"},
    "finding.first_last": {
        "en": "{scenario} reaches {stage} first, in {when}{shift}; {late} reaches it last, "
              "in {late_when}.",
        "zh": "{scenario}最早进入{stage}（{when}{shift}）；{late}最晚（{late_when}）。"},
    "finding.first_only": {"en": "{scenario} is the only scenario to reach {stage}, in {when}.",
                           "zh": "只有{scenario}进入{stage}（{when}）。"},
    "finding.shift_sep": {"en": ", ", "zh": "，"},
    "finding.never": {
        "en": "{count} of {total} scenarios never reach {stage} by {end}: {names}.",
        "zh": "{total} 个情景中有 {count} 个到{end}仍未进入{stage}：{names}。"},
    "finding.level_rel": {
        "en": "By {end}, {variable} is highest in {best} ({best_value}, {best_rel}) and "
              "lowest in {worst} ({worst_value}, {worst_rel}).",
        "zh": "到{end}，{variable}在{best}中最高（{best_value}，{best_rel}），"
              "在{worst}中最低（{worst_value}，{worst_rel}）。"},
    "finding.morris": {
        "en": "Of the parameters studied, {first} moves {output} most: by {effect} across its "
              "range.",
        "zh": "在所研究的参数中，{first}对{output}影响最大：在其取值范围内变化{effect}。"},
    "finding.morris_one": {"en": "Across its range, {first} moves {output} by {effect}.",
                           "zh": "{first}在其取值范围内使{output}变化{effect}。"},
    "finding.oat": {
        "en": "Of the parameters studied, {first} changes {output} most: by {effect} from its "
              "low to its high value.",
        "zh": "在所研究的参数中，{first}对{output}影响最大：由低值变为高值时变化{effect}。"},
    "finding.oat_one": {"en": "From its low to its high value, {first} changes {output} by "
                              "{effect}.",
                        "zh": "{first}由低值变为高值时，{output}变化{effect}。"},
    "finding.sobol": {
        "en": "Most of the spread in {output} comes from {first}: about {share} of it, "
              "counting its interactions.",
        "zh": "{output}的差异主要来自{first}：连同交互作用约占 {share}。"},
    "finding.sobol_one": {
        "en": "{first}, the only parameter studied, accounts for about {share} of the spread "
              "in {output}, counting its interactions.",
        "zh": "唯一被研究的参数{first}连同交互作用约占{output}差异的 {share}。"},
    "finding.rho": {
        "en": "Across the sampled runs, {output} is most closely tied to {first}: the higher "
              "{first}, the {direction} {output}, typically by {effect} from the lowest to the "
              "highest third of its sampled values.",
        "zh": "在抽样运行中，{output}与{first}关系最密切：{first}越高，{output}越{direction}，"
              "从其抽样值最低的三分之一到最高的三分之一通常相差{effect}。"},
    "finding.rho_one": {
        "en": "Across the sampled runs, the higher {first}, the {direction} {output}, typically "
              "by {effect} from the lowest to the highest third of its sampled values.",
        "zh": "在抽样运行中，{first}越高，{output}越{direction}，从其抽样值最低的三分之一到"
              "最高的三分之一通常相差{effect}。"},
    "finding.rho_index": {
        "en": "Across the sampled runs, {output} is most closely tied to {first}: the higher "
              "{first}, the {direction} {output} tends to be (rank correlation {value}, on a "
              "scale from -1 to +1).",
        "zh": "在抽样运行中，{output}与{first}关系最密切：{first}越高，{output}往往越{direction}"
              "（秩相关系数 {value}，取值 -1 至 +1）。"},
    "finding.next": {"en": " Next comes {second} ({second_effect}).",
                     "zh": "其次是{second}（{second_effect}）。"},
    "finding.next_plain": {"en": " Next comes {second}.", "zh": "其次是{second}。"},
    "finding.higher": {"en": "higher", "zh": "高"},
    "finding.lower": {"en": "lower", "zh": "低"},
    "finding.later": {"en": "later", "zh": "晚"},
    "finding.earlier": {"en": "earlier", "zh": "早"},
    "finding.never_runs": {
        "en": " {count} of the {total} sampled runs never get there by {end}: they are left "
              "out of these numbers.",
        "zh": "{total} 次抽样运行中有 {count} 次到{end}仍未达到，未计入上述数字。"},
    "finding.never_run": {
        "en": " 1 of the {total} sampled runs never gets there by {end}: it is left out of "
              "these numbers.",
        "zh": "{total} 次抽样运行中有 1 次到{end}仍未达到，未计入上述数字。"},
    "finding.never_all": {
        "en": "None of the {total} sampled runs gets to {output} by {end}, so the study cannot "
              "say which parameter moves it.",
        "zh": "{total} 次抽样运行到{end}都未达到{output}，因此无法判断哪个参数影响它。"},
    "run.end": {"en": "the end of the run", "zh": "运行结束"},
    "finding.band": {
        "en": "Across the sampled parameter sets, {variable} at the end of the run ({when}) "
              "lies between {low} and {high} in nine runs out of ten (median {median}).",
        "zh": "在各组抽样参数下，运行结束时（{when}）的{variable}有九成落在 {low} 与 {high} "
              "之间（中位数 {median}）。"},
    # footnotes: the technical measures
    "note.base_stages": {
        "en": "Model time of each transition ({unit}): {items}. A stage begins when its "
              "indicator first crosses its threshold.",
        "zh": "各阶段转换的模型时间（{unit}）：{items}。指标首次越过其阈值时进入该阶段。"},
    "note.stage_item": {"en": "{stage} {time} ({variable} crosses {threshold})",
                        "zh": "{stage} {time}（{variable}越过 {threshold}）"},
    "note.times": {"en": "Model time of the transition into {stage} ({unit}): {items}.",
                   "zh": "进入{stage}的模型时间（{unit}）：{items}。"},
    "note.level": {"en": "Values at time {end}, interpolated between saved times.",
                   "zh": "时间 {end} 的数值（在保存时刻之间线性插值）。"},
    "note.morris": {
        "en": "Morris screening: mu* (mean absolute elementary effect over the whole range "
              "of the parameter) {items} ({unit}).",
        "zh": "Morris 筛选：mu*（参数全范围内基本效应绝对值的均值）{items}（{unit}）。"},
    "note.sigma": {"en": " Sigma {first} {sigma}.", "zh": "sigma {first} {sigma}。"},
    "note.sobol": {
        "en": "Sobol indices: total ST {items} (± {conf} for {first}); first-order S1 {first} "
              "{s1}.",
        "zh": "Sobol 指数：总效应 ST {items}（{first} ± {conf}）；一阶 S1 {first} {s1}。"},
    "note.rho": {"en": "Spearman rank correlation: {items}.",
                 "zh": "Spearman 秩相关系数：{items}。"},
    "note.thirds": {
        "en": " Typical change: the median of the output over the runs in the highest third "
              "of a parameter's sampled values minus that over the runs in its lowest third.",
        "zh": "通常变化：参数抽样值最高三分之一的运行中输出的中位数减去最低三分之一的中位数。"},
    "note.oat": {"en": "One-at-a-time change: {items} ({unit}).",
                 "zh": "单因素变化：{items}（{unit}）。"},
    "note.never_runs": {
        "en": " The study records a run that never gets there as {end} plus a penalty; the "
              "{count} such runs are left out of these measures.",
        "zh": "研究把未达到的运行记为{end}加一个惩罚值；这 {count} 次运行未计入上述指标。"},
    "note.never_run": {
        "en": " The study records a run that never gets there as {end} plus a penalty; the "
              "one such run is left out of these measures.",
        "zh": "研究把未达到的运行记为{end}加一个惩罚值；这 1 次运行未计入上述指标。"},
    "note.sobol_never": {
        "en": " Sobol indices need every run, so here the parameters are ranked by Spearman "
              "rank correlation over the runs that got there.",
        "zh": "Sobol 指数需要全部运行，因此这里按达到的运行的 Spearman 秩相关系数排序。"},
    "note.band": {"en": "5th, 50th and 95th percentiles over the sample at time {time}.",
                  "zh": "时间 {time} 抽样结果的第 5、50 与 95 百分位数。"},
    "notes.title": {"en": "Notes", "zh": "注释"},
    "legend.study_base": {"en": "the study's base run ({name})",
                          "zh": "研究的基准运行（{name}）"},
    "legend.model_as_written": {"en": "the model as written", "zh": "模型原样"},
    "loops.other": {"en": "other loops", "zh": "其他回路"},
    "rule.item": {"en": "{stage} when {variable} crosses {threshold}",
                  "zh": "{variable}越过 {threshold} 时进入{stage}"},
    # sections that depend on the model
    "intro.comparison_stocks": {
        "en": "The model's stocks that change most in the base run (at most {count}); give "
              "--show or the card's [briefing] show to choose others.",
        "zh": "基准运行中变化最大的模型存量（至多 {count} 个）；可用 --show 或模型卡片的 "
              "[briefing] show 选择其他变量。"},
    "parameters.summary": {"en": "{sector} ({count} parameters)",
                           "zh": "{sector}（{count} 个参数）"},
    "parameters.other": {"en": "Other", "zh": "其他"},
}
