"""The briefing's plain-words messages (English, Chinese), merged into :data:`sdkit.i18n.MESSAGES`.

Kept apart from :mod:`sdkit.i18n` only for size; :func:`sdkit.i18n.text` reads
them like every other message. Findings say what the numbers mean ("early 2017",
"about 14 months before Baseline"); the technical measure (the transition time,
Morris mu*, the Sobol index) goes into a footnote (``note.*``). Times and durations
are worded by :mod:`sdkit.wording` in the model's own time unit.
"""

from __future__ import annotations

__all__ = ["BRIEFING_MESSAGES"]

#: Message id -> language -> text (``str.format`` placeholders allowed).
BRIEFING_MESSAGES: dict[str, dict[str, str]] = {
    # times and durations (sdkit.wording)
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
    "output.reach": {"en": "when {variable} reaches {level}",
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
              "range. Next comes {second} ({second_effect}).",
        "zh": "在所研究的参数中，{first}对{output}影响最大：在其取值范围内变化{effect}；"
              "其次是{second}（{second_effect}）。"},
    "finding.oat": {
        "en": "Of the parameters studied, {first} changes {output} most: by {effect} from its "
              "low to its high value. Next comes {second} ({second_effect}).",
        "zh": "在所研究的参数中，{first}对{output}影响最大：由低值变为高值时变化{effect}；"
              "其次是{second}（{second_effect}）。"},
    "finding.sobol": {
        "en": "Most of the spread in {output} comes from {first}: about {share} of it, "
              "counting its interactions. Next comes {second} ({second_share}).",
        "zh": "{output}的差异主要来自{first}：连同交互作用约占 {share}；"
              "其次是{second}（{second_share}）。"},
    "finding.rho": {
        "en": "Across the sampled runs, {output} is most closely tied to {first}: the higher "
              "{first}, the {direction} {output} tends to be. Next comes {second}.",
        "zh": "在抽样运行中，{output}与{first}关系最密切：{first}越高，{output}往往越{direction}；"
              "其次是{second}。"},
    "finding.higher": {"en": "higher", "zh": "高"},
    "finding.lower": {"en": "lower", "zh": "低"},
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
              "of the parameter) {first} {value}, {second} {second_value} ({unit}); "
              "sigma {first} {sigma}.",
        "zh": "Morris 筛选：mu*（参数全范围内基本效应绝对值的均值）{first} {value}，"
              "{second} {second_value}（{unit}）；sigma {first} {sigma}。"},
    "note.sobol": {
        "en": "Sobol indices: total ST {first} {value} ± {conf}, {second} {second_value}; "
              "first-order S1 {first} {s1}.",
        "zh": "Sobol 指数：总效应 ST {first} {value} ± {conf}，{second} {second_value}；"
              "一阶 S1 {first} {s1}。"},
    "note.rho": {"en": "Spearman rank correlation: {first} {value}, {second} {second_value}.",
                 "zh": "Spearman 秩相关系数：{first} {value}，{second} {second_value}。"},
    "note.oat": {"en": "One-at-a-time change: {first} {value}, {second} {second_value} ({unit}).",
                 "zh": "单因素变化：{first} {value}，{second} {second_value}（{unit}）。"},
    "note.band": {"en": "5th, 50th and 95th percentiles over the sample at time {time}.",
                  "zh": "时间 {time} 抽样结果的第 5、50 与 95 百分位数。"},
    "notes.title": {"en": "Notes", "zh": "注释"},
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
