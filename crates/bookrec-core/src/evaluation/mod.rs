//! Evaluation: how well a model does on ratings it has not seen, and which hyper-parameters
//! make it do best. [`split`] holds part of an [`Interactions`](crate::Interactions) set out
//! (a random or per-user train/test split, k folds of the ratings or of every user's
//! interactions); [`evaluate`] fits a [`ModelSpec`](crate::models::ModelSpec) on the training
//! part (or takes a fitted model) and scores the held-out part with the measures of
//! [`metrics`] (RMSE/MAE of predicted ratings; precision, recall, NDCG, MAP and hit rate of
//! top-N lists) into an [`EvalReport`](evaluate::EvalReport), once or by cross-validation;
//! [`tune`] searches a model's hyper-parameters by cross-validation into a
//! [`TuneReport`](tune::TuneReport) whose best parameters are ready to fit.

pub mod evaluate;
pub mod metrics;
pub mod split;
pub mod tune;
