"""The briefing's calibration messages (English, Chinese), merged into
:data:`sdkit.report.i18n.MESSAGES`.

Kept apart from :mod:`sdkit.report.i18n` only for size; :func:`sdkit.report.i18n.text` reads
them like every other message. The words are for readers who have not run a
calibration: a *held-out* observation is one the fit never saw, its *range* is
the predictive 90 % band of :mod:`sdkit.calibration.summary`.
"""

from __future__ import annotations

__all__ = ["CALIBRATION_MESSAGES"]

#: Message id -> language -> text (``str.format`` placeholders allowed).
CALIBRATION_MESSAGES: dict[str, dict[str, str]] = {
    # section
    "section.calibration": {"en": "Calibration and hindcast", "zh": "校准与回测"},
    "intro.calibration": {
        "en": "A separate calibration ({title}) estimated {count} of the model's constants "
              "from observations up to {until}, with their uncertainty. The charts and the "
              "table below show this calibrated model, not the scenario runs above. "
              "Observations after {until} were held out: the calibration never saw them, so "
              "they test how well the fitted model forecasts (a hindcast).",
        "zh": "另一项校准（{title}）利用截至{until}的观测值估计了模型的 {count} 个常数"
              "及其不确定性。以下图表显示的是校准后的模型，而非上文的情景运行。留出了{until}之后"
              "的观测值：校准从未使用它们，因此可用来检验拟合后的模型的预测能力（回测）。"},
    "intro.calibration_all": {
        "en": "A separate calibration ({title}) estimated {count} of the model's constants "
              "from observations, with their uncertainty. The charts and the table below show "
              "this calibrated model, not the scenario runs above. No observation was held "
              "out, so there is no test of its forecasts (hindcast).",
        "zh": "另一项校准（{title}）利用观测值估计了模型的 {count} 个常数及其不确定性。以下图表显示"
              "的是校准后的模型，而非上文的情景运行。没有留出任何观测值，因此没有对其预测能力的"
              "检验（回测）。"},
    "intro.calibration_fit": {
        "en": "One row per observation. The grey bar is the range in which the calibrated "
              "model expects the observation 9 times out of 10 (its own uncertainty plus the "
              "observation's error), drawn from -1 (low end) to +1 (high end); quantities "
              "known only within a factor are placed on a logarithmic scale. The marker is "
              "the observed value, the black dash the model's best fit. Shaded rows, with "
              "orange diamonds, are held out; a red ring marks an observation outside its "
              "range. Positions beyond ±3 are drawn at the edge; hover for the numbers.",
        "zh": "每行一个观测值。灰色条为校准模型预期该观测值 90% 情况下所在的范围（模型自身的"
              "不确定性加上观测误差），画为 -1（下端）到 +1（上端）；只知道倍数范围的量按对数"
              "尺度放置。标记为观测值，黑色短线为模型的最佳拟合。带底色、橙色菱形的行为留出数据；"
              "红圈标出超出范围的观测值。超过 ±3 的位置画在边缘；鼠标悬停可查看数值。"},
    "intro.calibration_bands": {
        "en": "The calibrated model over the whole run: the shaded areas hold 90 % and 50 % of "
              "{draws} runs with parameter sets drawn from the calibration, the line is their "
              "median. Observed levels are points; an observed total over a period (a revenue, "
              "say) is drawn as its average rate over that period (per unit of the model's "
              "time), a horizontal segment comparable with the rate the curve shows. The bars "
              "are each observation's own 90 % uncertainty. The dashed line marks the end of "
              "the fitting period; orange diamonds are held out.",
        "zh": "校准后的模型在整个运行期内的表现：阴影区域包含以校准所得参数组合抽样的 {draws} 次"
              "运行中的 90% 与 50%，线为其中位数。存量观测值画为点；一段时期内的观测合计值"
              "（如收入）画为该时期内的平均速率（按模型的时间单位计，一条水平线段），可与曲线所示的速率比较。"
              "误差条为各观测值自身 90% 的不确定性。虚线标出拟合期的结束；橙色菱形为留出数据。"},
    "calibration.fitted": {
        "en": "The calibrated model was fitted to {count} observations up to {until}.",
        "zh": "校准模型用截至{until}的 {count} 个观测值拟合。"},
    "calibration.fitted_all": {
        "en": "The calibrated model was fitted to all {count} observations; none was held out.",
        "zh": "校准模型用全部 {count} 个观测值拟合，未留出检验数据。"},
    "calibration.hindcast": {
        "en": " Held-out observations inside their range: {inside} of {total}.",
        "zh": "{total} 个留出的观测值中有 {inside} 个落在其范围内。"},
    "calibration.unidentified_list": {
        "en": " Parameters the data could not pin down: {names}.",
        "zh": "数据无法确定的参数：{names}。"},
    "calibration.unidentified_count": {
        "en": " The data could not pin down {count} of the {total} estimated parameters: their "
              "plausible range barely narrowed.",
        "zh": "在 {total} 个被估计的参数中，数据无法确定其中 {count} 个：其可能范围几乎没有缩小。"},
    "calibration.all_identified": {
        "en": " The data narrowed the range of every one of the {total} estimated parameters.",
        "zh": "数据缩小了全部 {total} 个被估计参数的范围。"},
    "calibration.unidentified_names": {"en": "Parameters not pinned down",
                                       "zh": "未能确定的参数"},
    "calibration.until_end": {"en": "the end of {year}", "zh": " {year} 年底"},
    "calibration.until": {"en": "{time}", "zh": " {time} "},
    "calibration.fitted_role": {"en": "fitted", "zh": "用于拟合"},
    "calibration.holdout_role": {"en": "held out (hindcast)", "zh": "留出（回测）"},
    "calibration.flow": {"en": "{variable} (total over the period)",
                         "zh": "{variable}（期间合计）"},
    "calibration.event": {"en": "{variable}: date it first reaches {threshold}",
                          "zh": "{variable}首次达到 {threshold} 的时间"},
    "calibration.ratio": {"en": "{variable}: one period over another",
                          "zh": "{variable}：两期之比"},
    "calibration.flow_title": {"en": "{variable} {when} total", "zh": "{variable} {when} 年合计"},
    "calibration.flow_title_any": {"en": "{variable} {when} total", "zh": "{variable} {when} 合计"},
    "calibration.span": {"en": "{unit} {start}-{end}", "zh": "第 {start}-{end} {unit}"},
    "calibration.ratio_when": {"en": "{time} over {base}", "zh": "{time} 比 {base}"},
    "calibration.event_when": {"en": "observed date", "zh": "观测日期"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "NO", "zh": "否"},
    # table
    "col.observation": {"en": "Observation", "zh": "观测"},
    "col.when": {"en": "When", "zh": "时间"},
    "col.role": {"en": "Role", "zh": "用途"},
    "col.observed": {"en": "Observed", "zh": "观测值"},
    "col.best_fit": {"en": "Model, best fit", "zh": "模型（最佳拟合）"},
    "col.model_range": {"en": "Model's 90 % range", "zh": "模型 90% 范围"},
    "col.inside": {"en": "Inside", "zh": "在范围内"},
    # charts
    "chart.calibration_fit": {"en": "Calibrated model against the observations",
                              "zh": "校准模型与观测值"},
    "chart.calibration_band": {"en": "{variable}: calibrated model",
                               "zh": "{variable}：校准后的模型"},
    "axis.range_position": {"en": "Position in the model's 90 % range (-1 low end, +1 high end)",
                            "zh": "在模型 90% 范围中的位置（-1 下端，+1 上端）"},
    "axis.per_year": {"en": "{unit} per year", "zh": "{unit}/年"},
    "axis.per_time": {"en": "{unit} per {time}", "zh": "{unit}/{time}"},
    "legend.range90": {"en": "model's 90 % range", "zh": "模型 90% 范围"},
    "legend.range50": {"en": "50 % range", "zh": "50% 范围"},
    "legend.fitted": {"en": "observed, used for fitting", "zh": "观测值（用于拟合）"},
    "legend.holdout": {"en": "observed, held out (hindcast)", "zh": "观测值，留出（回测）"},
    "legend.fitted_flow": {"en": "observed total as yearly average, fitted",
                           "zh": "观测合计值的年均值（用于拟合）"},
    "legend.holdout_flow": {"en": "observed total as yearly average, held out (hindcast)",
                            "zh": "观测合计值的年均值，留出（回测）"},
    "legend.fitted_flow_any": {"en": "observed total as average per {time}, fitted",
                               "zh": "观测合计值的每{time}均值（用于拟合）"},
    "legend.holdout_flow_any": {"en": "observed total as average per {time}, held out "
                                      "(hindcast)",
                                "zh": "观测合计值的每{time}均值，留出（回测）"},
    "legend.outside": {"en": "outside its range", "zh": "超出范围"},
    "legend.best_fit": {"en": "model, best fit", "zh": "模型（最佳拟合）"},
    "label.fit_end": {"en": "fitting ends", "zh": "拟合期结束"},
    # findings
    "finding.hindcast": {
        "en": "Tested on {total} observations after {until} that the calibration never saw, "
              "the calibrated model's 90 % range contains {inside}.",
        "zh": "用校准未使用的{until}之后的 {total} 个观测值检验，校准模型的 90% 范围包含其中 "
              "{inside} 个。"},
    "finding.hindcast_over": {"en": " It overshoots {names}.", "zh": "模型高估了{names}。"},
    "finding.hindcast_under": {"en": " It undershoots {names}.", "zh": "模型低估了{names}。"},
    "finding.hindcast_item": {"en": "{name} (model's range {low} - {high}, observed {value})",
                              "zh": "{name}（模型范围 {low} - {high}，观测 {value}）"},
}
