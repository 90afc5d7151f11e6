"""Learned performance predictors: features of a candidate -> predicted score with an uncertainty."""

from archlab.evaluator.predictors.ensemble import MEMBERS, Ensemble
from archlab.evaluator.predictors.features import FeatureRecord, FeatureTable, signed_log
from archlab.evaluator.predictors.online import Forecast, OnlinePredictor
from archlab.evaluator.predictors.prior import proxy_prior

__all__ = ["MEMBERS", "Ensemble", "FeatureRecord", "FeatureTable", "Forecast", "OnlinePredictor", "proxy_prior",
           "signed_log"]
