// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AdminPausable} from "AdminRoles.sol";
import {ParticipantRegistry} from "ParticipantRegistry.sol";

/// @title ServiceAgreements
/// @notice Guarantee contracts (SLAs) between a supplier and a buyer for compute capacity,
///         bandwidth or energy delivered over a number of periods, after the whitepaper's
///         trading guarantee contract (§3.5): obligations, liability and compensation for a breach
///         are fixed up front and the commercial terms stay confidential.
///
///         Only a hash of the confidential terms is on chain (`termsHash = keccak256(salt ||
///         terms)`); a party reveals them only in a dispute. The supplier posts collateral with the
///         offer; the buyer escrows the whole payment on acceptance. Each period, the buyer (or an
///         oracle the operator designated) attests the units delivered: the payment for the period
///         is released pro rata to the supplier and the rest refunded, and a shortfall entitles the
///         buyer to `penaltyPerUnit` per missing unit from the collateral, never more than is left,
///         claimable once. After the last period and the dispute window (never shorter than
///         `minDisputeWindow`, so the last attestation can land), whatever is still held goes to
///         the supplier. A dispute hands the split to the operator, but only for `disputeTimeout`
///         seconds: after that anyone may end it with the default split (the buyer recovers the
///         payment of unattested periods and its unclaimed compensation; the supplier gets its
///         remaining collateral).
///
///         Only registered compute, network and energy suppliers offer, each its own service.
///         A party may name brokers (`setBroker`), such as the market's scheduling platform, to
///         offer and accept on its behalf: `offerManyFor` and `acceptManyFor` take one round of
///         many parties' agreements in one call and draw each party's tokens in one transfer.
///         Payouts are credited and pulled with `withdraw` (pull payments). The pause stops new
///         offers and acceptances only; refunds, claims and withdrawals always work.
/// @dev Pull payments, checks-effects-interactions and a reentrancy guard on every token move.
///      The code is this project's.
contract ServiceAgreements is AdminPausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The most periods one agreement may run.
    uint32 public constant MAX_PERIODS = 8_784;
    /// @notice The shortest dispute window, in seconds (one market round), whatever the period.
    uint64 public constant MIN_DISPUTE_WINDOW = 3_600;
    /// @notice The shortest dispute timeout, in seconds.
    uint64 public constant MIN_DISPUTE_TIMEOUT = 3_600;
    /// @notice The most agreements one batched call takes.
    uint256 public constant MAX_BATCH = 256;
    uint8 private constant OPERATOR = 1;
    uint8 private constant COMPUTE_SUPPLIER = 2;
    uint8 private constant NETWORK_SUPPLIER = 4;
    uint8 private constant ENERGY_SUPPLIER = 8;

    enum Service {
        Compute,
        Network,
        Energy
    }

    enum State {
        None,
        Offered,
        Active,
        Disputed,
        Closed,
        Cancelled
    }

    /// @notice The public terms of an agreement (the commercial details are behind `termsHash`).
    struct Terms {
        address buyer;
        address oracle;
        Service service;
        bytes32 termsHash;
        uint64 start;
        uint32 periods;
        uint32 periodSeconds;
        uint64 unitsPerPeriod;
        uint128 paymentPerPeriod;
        uint128 penaltyPerUnit;
        uint128 collateral;
        uint64 disputeWindow;
        uint64 disputeTimeout;
    }

    /// @notice An agreement and what it still holds.
    struct Agreement {
        Terms terms;
        address supplier;
        State state;
        uint32 attested;
        uint64 disputedAt;
        uint128 collateralLeft;
        uint128 paymentHeld;
        uint128 compensationOwed;
    }

    /// @notice One period's attestation.
    struct Period {
        bool attested;
        bool claimed;
        uint64 delivered;
        uint128 compensation;
    }

    /// @notice The token payments and collateral are held in.
    IERC20 public immutable token;
    /// @notice Who takes part, and in which capacities.
    ParticipantRegistry public immutable registry;

    /// @notice Agreements created so far (ids run from 1).
    uint256 public agreementCount;
    /// @notice Oracles the operator designated.
    mapping(address oracle => bool) public isOracle;
    /// @notice What each account may withdraw.
    mapping(address account => uint256) public credit;
    /// @notice Whether `broker` may offer and accept agreements for `account` (drawing its tokens).
    mapping(address account => mapping(address broker => bool)) public isBroker;
    mapping(uint256 id => Agreement) private _agreements;
    mapping(uint256 id => mapping(uint256 period => Period)) private _periods;

    event OracleSet(address indexed oracle, bool enabled);
    event BrokerSet(address indexed account, address indexed broker, bool enabled);
    event AgreementOffered(
        uint256 indexed id, address indexed supplier, address indexed buyer, Service service, bytes32 termsHash
    );
    event AgreementCancelled(uint256 indexed id, uint256 collateralRefunded);
    event AgreementAccepted(uint256 indexed id, uint256 paymentEscrowed);
    event PeriodAttested(
        uint256 indexed id, uint256 indexed period, uint256 delivered, uint256 toSupplier, uint256 refund, uint256 compensation
    );
    event CompensationClaimed(uint256 indexed id, uint256 indexed period, uint256 amount);
    event AgreementReleased(uint256 indexed id, uint256 toSupplier);
    event DisputeOpened(uint256 indexed id, address indexed by);
    event TermsRevealed(uint256 indexed id, address indexed by, bytes terms);
    event DisputeResolved(uint256 indexed id, uint256 toBuyer, uint256 toSupplier);
    event DisputeTimedOut(uint256 indexed id, uint256 toBuyer, uint256 toSupplier);
    event Withdrawn(address indexed account, uint256 amount);

    error NotOperator(address caller);
    error NotSupplier(address caller, Service service);
    error NotBroker(address account, address caller);
    error NotRegistered(address account);
    error SelfDealing(address account);
    error InvalidSchedule(uint256 periods, uint256 periodSeconds, uint256 unitsPerPeriod);
    error DisputeWindowTooShort(uint256 window, uint256 minimum);
    error DisputeTimeoutTooShort(uint256 timeout, uint256 minimum);
    error StartInPast(uint256 start, uint256 time);
    error OracleNotDesignated(address oracle);
    error UnknownAgreement(uint256 id);
    error WrongState(uint256 id, State state);
    error NotParty(uint256 id, address caller);
    error OfferLapsed(uint256 id, uint256 start);
    error NotAttester(uint256 id, address caller);
    error PeriodOutOfRange(uint256 id, uint256 period);
    error PeriodNotOver(uint256 id, uint256 period, uint256 endsAt);
    error AlreadyAttested(uint256 id, uint256 period);
    error NothingToClaim(uint256 id, uint256 period);
    error AlreadyClaimed(uint256 id, uint256 period);
    error DisputeWindowOpen(uint256 id, uint256 until);
    error DisputeWindowClosed(uint256 id, uint256 until);
    error DisputeNotTimedOut(uint256 id, uint256 until);
    error TermsMismatch(uint256 id);
    error ExceedsHeld(uint256 id, uint256 amount, uint256 held);
    error NothingToWithdraw(address account);
    error BatchTooLarge(uint256 size, uint256 max);
    error LengthMismatch(uint256 ids, uint256 values);

    /// @param token_ The token payments and collateral are held in.
    /// @param registry_ The participant registry.
    /// @param admin The first admin.
    constructor(IERC20 token_, ParticipantRegistry registry_, address admin) AdminPausable(admin) {
        token = token_;
        registry = registry_;
    }

    modifier onlyOperator() {
        if (!registry.hasRoles(msg.sender, OPERATOR)) revert NotOperator(msg.sender);
        _;
    }

    /// @notice Designates (or removes) an oracle that agreements may name to attest delivery.
    /// @param oracle The oracle account.
    /// @param enabled True to designate, false to remove.
    function setOracle(address oracle, bool enabled) external onlyOperator {
        if (oracle == address(0)) revert ZeroAddress();
        isOracle[oracle] = enabled;
        emit OracleSet(oracle, enabled);
    }

    /// @notice The caller lets `broker` offer and accept agreements on its behalf (drawing the
    ///         collateral and payments from its token allowance to this contract), or stops it.
    ///         Emits `BrokerSet`.
    /// @param broker The broker.
    /// @param enabled True to allow, false to revoke.
    function setBroker(address broker, bool enabled) external {
        if (broker == address(0)) revert ZeroAddress();
        isBroker[msg.sender][broker] = enabled;
        emit BrokerSet(msg.sender, broker, enabled);
    }

    /// @notice The shortest dispute window an agreement with periods of `periodSeconds` may have:
    ///         one period (the last attestation lands after the last period ends), and never
    ///         under `MIN_DISPUTE_WINDOW`.
    /// @param periodSeconds The agreement's period length.
    /// @return The minimum window, in seconds.
    function minDisputeWindow(uint256 periodSeconds) public pure returns (uint256) {
        return periodSeconds > MIN_DISPUTE_WINDOW ? periodSeconds : MIN_DISPUTE_WINDOW;
    }

    /// @notice The supplier offers an agreement to `terms.buyer` and posts `terms.collateral`.
    /// @dev The caller must have approved this contract for the collateral on the token.
    ///      Emits `AgreementOffered`.
    /// @param terms The public terms; `termsHash` commits to the confidential ones.
    /// @return id The new agreement's id.
    function offer(Terms calldata terms) external whenNotPaused nonReentrant returns (uint256 id) {
        id = _offer(msg.sender, terms);
        if (terms.collateral > 0) token.safeTransferFrom(msg.sender, address(this), terms.collateral);
    }

    /// @notice The supplier offers many agreements at once and posts their collateral in one transfer.
    /// @param terms Each agreement's public terms.
    /// @return first The first new id; the others follow it in order.
    function offerMany(Terms[] calldata terms) external whenNotPaused nonReentrant returns (uint256 first) {
        if (terms.length > MAX_BATCH) revert BatchTooLarge(terms.length, MAX_BATCH);
        first = agreementCount + 1;
        uint256 collateral;
        for (uint256 i = 0; i < terms.length; ++i) {
            _offer(msg.sender, terms[i]);
            collateral += terms[i].collateral;
        }
        if (collateral > 0) token.safeTransferFrom(msg.sender, address(this), collateral);
    }

    /// @notice A broker offers many suppliers' agreements at once: `terms[i]` for `suppliers[i]`,
    ///         each of which named the caller its broker (or is the caller). Each run of
    ///         consecutive offers by one supplier posts its collateral in one transfer, after
    ///         every offer is recorded.
    /// @param suppliers Each offer's supplier.
    /// @param terms Each offer's public terms.
    /// @return first The first new id; the others follow it in order.
    function offerManyFor(address[] calldata suppliers, Terms[] calldata terms)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 first)
    {
        if (terms.length > MAX_BATCH) revert BatchTooLarge(terms.length, MAX_BATCH);
        if (suppliers.length != terms.length) revert LengthMismatch(suppliers.length, terms.length);
        first = agreementCount + 1;
        address[] memory payers = new address[](terms.length);
        uint256[] memory amounts = new uint256[](terms.length);
        uint256 runs;
        for (uint256 i = 0; i < terms.length; ++i) {
            if (runs == 0 || payers[runs - 1] != suppliers[i]) {
                _expectBroker(suppliers[i]);
                payers[runs++] = suppliers[i];
            }
            _offer(suppliers[i], terms[i]);
            amounts[runs - 1] += terms[i].collateral;
        }
        _pull(payers, amounts, runs);
    }

    /// @notice The supplier withdraws an offer not yet accepted; the collateral is credited back.
    ///         Emits `AgreementCancelled`.
    /// @param id The agreement.
    function cancelOffer(uint256 id) external {
        Agreement storage a = _agreement(id);
        if (msg.sender != a.supplier) revert NotParty(id, msg.sender);
        _expectState(id, a, State.Offered);
        uint128 refund = a.collateralLeft;
        a.collateralLeft = 0;
        a.state = State.Cancelled;
        credit[a.supplier] += refund;
        emit AgreementCancelled(id, refund);
    }

    /// @notice The buyer accepts before the start and escrows `paymentPerPeriod * periods`.
    /// @dev The caller must have approved this contract for the payment on the token.
    ///      Emits `AgreementAccepted`.
    /// @param id The agreement.
    function accept(uint256 id) external whenNotPaused nonReentrant {
        uint256 payment = _accept(msg.sender, id);
        if (payment > 0) token.safeTransferFrom(msg.sender, address(this), payment);
    }

    /// @notice The buyer accepts many agreements at once and escrows their payments in one transfer.
    /// @param ids The agreements.
    function acceptMany(uint256[] calldata ids) external whenNotPaused nonReentrant {
        if (ids.length > MAX_BATCH) revert BatchTooLarge(ids.length, MAX_BATCH);
        uint256 payment;
        for (uint256 i = 0; i < ids.length; ++i) {
            payment += _accept(msg.sender, ids[i]);
        }
        if (payment > 0) token.safeTransferFrom(msg.sender, address(this), payment);
    }

    /// @notice A broker accepts many buyers' agreements at once, each for its buyer, which named
    ///         the caller its broker (or is the caller). Each run of consecutive agreements of one
    ///         buyer escrows its payments in one transfer, after every acceptance is recorded
    ///         (order the ids by buyer for the fewest transfers).
    /// @param ids The agreements.
    function acceptManyFor(uint256[] calldata ids) external whenNotPaused nonReentrant {
        if (ids.length > MAX_BATCH) revert BatchTooLarge(ids.length, MAX_BATCH);
        address[] memory payers = new address[](ids.length);
        uint256[] memory amounts = new uint256[](ids.length);
        uint256 runs;
        for (uint256 i = 0; i < ids.length; ++i) {
            address buyer = _agreement(ids[i]).terms.buyer;
            if (runs == 0 || payers[runs - 1] != buyer) {
                _expectBroker(buyer);
                payers[runs++] = buyer;
            }
            amounts[runs - 1] += _accept(buyer, ids[i]);
        }
        _pull(payers, amounts, runs);
    }

    /// @notice Attests the units delivered in `period` (after it ended): the buyer, or the
    ///         agreement's oracle while designated. Emits `PeriodAttested`.
    /// @param id The agreement.
    /// @param period The period (from 0).
    /// @param delivered Units delivered (counted up to `unitsPerPeriod`).
    function attest(uint256 id, uint256 period, uint64 delivered) external {
        _attest(id, period, delivered);
    }

    /// @notice Many attestations in one call (e.g. an oracle's hour across its agreements).
    /// @param ids The agreements.
    /// @param periods Each attestation's period.
    /// @param delivered Each attestation's units delivered.
    function attestMany(uint256[] calldata ids, uint256[] calldata periods, uint64[] calldata delivered) external {
        if (ids.length > MAX_BATCH) revert BatchTooLarge(ids.length, MAX_BATCH);
        if (periods.length != ids.length) revert LengthMismatch(ids.length, periods.length);
        if (delivered.length != ids.length) revert LengthMismatch(ids.length, delivered.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            _attest(ids[i], periods[i], delivered[i]);
        }
    }

    /// @notice The buyer claims the compensation of an attested shortfall. Emits `CompensationClaimed`.
    /// @param id The agreement.
    /// @param period The period.
    function claimCompensation(uint256 id, uint256 period) external {
        _claim(id, period);
    }

    /// @notice The buyer claims many compensations in one call.
    /// @param ids The agreements.
    /// @param periods Each claim's period.
    function claimCompensationMany(uint256[] calldata ids, uint256[] calldata periods) external {
        if (ids.length > MAX_BATCH) revert BatchTooLarge(ids.length, MAX_BATCH);
        if (periods.length != ids.length) revert LengthMismatch(ids.length, periods.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            _claim(ids[i], periods[i]);
        }
    }

    /// @notice After the last period and the dispute window, credits the supplier with the
    ///         payment still held and the collateral left. Anyone may call. Emits `AgreementReleased`.
    /// @param id The agreement.
    function release(uint256 id) external {
        Agreement storage a = _agreement(id);
        _expectState(id, a, State.Active);
        uint256 until = _end(a.terms) + a.terms.disputeWindow;
        if (block.timestamp < until) revert DisputeWindowOpen(id, until);
        uint256 toSupplier = uint256(a.paymentHeld) + a.collateralLeft;
        a.paymentHeld = 0;
        a.collateralLeft = 0;
        a.state = State.Closed;
        credit[a.supplier] += toSupplier;
        emit AgreementReleased(id, toSupplier);
    }

    /// @notice Either party disputes an active agreement before its dispute window closes; the
    ///         operator may resolve it until `disputeTimeout` seconds later. Emits `DisputeOpened`.
    /// @param id The agreement.
    function openDispute(uint256 id) external {
        Agreement storage a = _agreement(id);
        if (msg.sender != a.supplier && msg.sender != a.terms.buyer) revert NotParty(id, msg.sender);
        _expectState(id, a, State.Active);
        uint256 until = _end(a.terms) + a.terms.disputeWindow;
        if (block.timestamp >= until) revert DisputeWindowClosed(id, until);
        a.state = State.Disputed;
        a.disputedAt = uint64(block.timestamp);
        emit DisputeOpened(id, msg.sender);
    }

    /// @notice A party (or the operator) reveals the confidential terms of a disputed agreement;
    ///         they must match the committed hash. Emits `TermsRevealed`.
    /// @param id The agreement.
    /// @param terms The confidential terms.
    /// @param salt The salt they were committed with.
    function revealTerms(uint256 id, bytes calldata terms, bytes32 salt) external {
        Agreement storage a = _agreement(id);
        if (msg.sender != a.supplier && msg.sender != a.terms.buyer && !registry.hasRoles(msg.sender, OPERATOR)) {
            revert NotParty(id, msg.sender);
        }
        _expectState(id, a, State.Disputed);
        if (keccak256(abi.encodePacked(salt, terms)) != a.terms.termsHash) revert TermsMismatch(id);
        emit TermsRevealed(id, msg.sender, terms);
    }

    /// @notice The operator splits a disputed agreement's holdings before the dispute times out.
    ///         Emits `DisputeResolved`.
    /// @param id The agreement.
    /// @param paymentToBuyer Of the payment held, what the buyer recovers.
    /// @param collateralToBuyer Of the collateral left, what the buyer receives.
    function resolveDispute(uint256 id, uint128 paymentToBuyer, uint128 collateralToBuyer) external onlyOperator {
        Agreement storage a = _agreement(id);
        _expectState(id, a, State.Disputed);
        if (paymentToBuyer > a.paymentHeld) revert ExceedsHeld(id, paymentToBuyer, a.paymentHeld);
        if (collateralToBuyer > a.collateralLeft) revert ExceedsHeld(id, collateralToBuyer, a.collateralLeft);
        uint256 toBuyer = uint256(paymentToBuyer) + collateralToBuyer;
        uint256 toSupplier = uint256(a.paymentHeld - paymentToBuyer) + (a.collateralLeft - collateralToBuyer);
        a.paymentHeld = 0;
        a.collateralLeft = 0;
        a.state = State.Closed;
        credit[a.terms.buyer] += toBuyer;
        credit[a.supplier] += toSupplier;
        emit DisputeResolved(id, toBuyer, toSupplier);
    }

    /// @notice Ends a dispute nobody resolved within `disputeTimeout` with the default split: the
    ///         buyer recovers the payment of unattested periods and its unclaimed compensation, the
    ///         supplier gets the collateral left. Anyone may call. Emits `DisputeTimedOut`.
    /// @param id The agreement.
    function expireDispute(uint256 id) external {
        Agreement storage a = _agreement(id);
        _expectState(id, a, State.Disputed);
        uint256 until = uint256(a.disputedAt) + a.terms.disputeTimeout;
        if (block.timestamp < until) revert DisputeNotTimedOut(id, until);
        uint256 toBuyer = uint256(a.paymentHeld) + a.compensationOwed;
        uint256 toSupplier = a.collateralLeft;
        a.paymentHeld = 0;
        a.collateralLeft = 0;
        a.compensationOwed = 0;
        a.state = State.Closed;
        credit[a.terms.buyer] += toBuyer;
        credit[a.supplier] += toSupplier;
        emit DisputeTimedOut(id, toBuyer, toSupplier);
    }

    /// @notice Pays out the caller's credit. Emits `Withdrawn`.
    function withdraw() external nonReentrant {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice An agreement with its terms and holdings.
    /// @param id The agreement.
    /// @return The agreement (state `None` if unknown).
    function getAgreement(uint256 id) external view returns (Agreement memory) {
        return _agreements[id];
    }

    /// @notice One period's attestation record.
    /// @param id The agreement.
    /// @param period The period.
    /// @return The record.
    function getPeriod(uint256 id, uint256 period) external view returns (Period memory) {
        return _periods[id][period];
    }

    function _offer(address supplier, Terms calldata terms) private returns (uint256 id) {
        if (!registry.hasRoles(supplier, _supplierRole(terms.service))) revert NotSupplier(supplier, terms.service);
        if (!registry.isRegistered(terms.buyer)) revert NotRegistered(terms.buyer);
        if (terms.buyer == supplier) revert SelfDealing(supplier);
        if (terms.periods == 0 || terms.periods > MAX_PERIODS || terms.periodSeconds == 0 || terms.unitsPerPeriod == 0) {
            revert InvalidSchedule(terms.periods, terms.periodSeconds, terms.unitsPerPeriod);
        }
        uint256 minimum = minDisputeWindow(terms.periodSeconds);
        if (terms.disputeWindow < minimum) revert DisputeWindowTooShort(terms.disputeWindow, minimum);
        if (terms.disputeTimeout < MIN_DISPUTE_TIMEOUT) {
            revert DisputeTimeoutTooShort(terms.disputeTimeout, MIN_DISPUTE_TIMEOUT);
        }
        if (terms.start <= block.timestamp) revert StartInPast(terms.start, block.timestamp);
        if (terms.oracle != address(0) && !isOracle[terms.oracle]) revert OracleNotDesignated(terms.oracle);
        id = ++agreementCount;
        Agreement storage a = _agreements[id];
        a.terms = terms;
        a.supplier = supplier;
        a.state = State.Offered;
        a.collateralLeft = terms.collateral;
        emit AgreementOffered(id, supplier, terms.buyer, terms.service, terms.termsHash);
    }

    function _accept(address buyer, uint256 id) private returns (uint256 payment) {
        Agreement storage a = _agreement(id);
        if (buyer != a.terms.buyer) revert NotParty(id, buyer);
        _expectState(id, a, State.Offered);
        if (block.timestamp >= a.terms.start) revert OfferLapsed(id, a.terms.start);
        uint128 held = a.terms.paymentPerPeriod * a.terms.periods;
        a.paymentHeld = held;
        a.state = State.Active;
        emit AgreementAccepted(id, held);
        return held;
    }

    function _attest(uint256 id, uint256 period, uint64 delivered) private {
        Agreement storage a = _agreement(id);
        _expectState(id, a, State.Active);
        Terms storage t = a.terms;
        if (t.oracle == address(0) ? msg.sender != t.buyer : (msg.sender != t.oracle || !isOracle[t.oracle])) {
            revert NotAttester(id, msg.sender);
        }
        if (period >= t.periods) revert PeriodOutOfRange(id, period);
        uint256 endsAt = uint256(t.start) + (period + 1) * t.periodSeconds;
        if (block.timestamp < endsAt) revert PeriodNotOver(id, period, endsAt);
        Period storage p = _periods[id][period];
        if (p.attested) revert AlreadyAttested(id, period);

        uint64 counted = delivered < t.unitsPerPeriod ? delivered : t.unitsPerPeriod;
        uint128 toSupplier = uint128(uint256(t.paymentPerPeriod) * counted / t.unitsPerPeriod);
        uint128 refund = t.paymentPerPeriod - toSupplier;
        uint256 penalty = uint256(t.penaltyPerUnit) * (t.unitsPerPeriod - counted);
        uint128 compensation = penalty < a.collateralLeft ? uint128(penalty) : a.collateralLeft;

        p.attested = true;
        p.delivered = counted;
        p.compensation = compensation;
        a.attested += 1;
        a.paymentHeld -= t.paymentPerPeriod;
        a.collateralLeft -= compensation;
        a.compensationOwed += compensation;
        credit[a.supplier] += toSupplier;
        credit[t.buyer] += refund;
        emit PeriodAttested(id, period, counted, toSupplier, refund, compensation);
    }

    function _claim(uint256 id, uint256 period) private {
        Agreement storage a = _agreement(id);
        if (msg.sender != a.terms.buyer) revert NotParty(id, msg.sender);
        Period storage p = _periods[id][period];
        // a dispute that timed out already paid every unclaimed compensation (owed is then zero)
        if (p.compensation == 0) revert NothingToClaim(id, period);
        if (p.claimed) revert AlreadyClaimed(id, period);
        if (a.compensationOwed < p.compensation) revert NothingToClaim(id, period);
        p.claimed = true;
        a.compensationOwed -= p.compensation;
        credit[msg.sender] += p.compensation;
        emit CompensationClaimed(id, period, p.compensation);
    }

    function _expectBroker(address account) private view {
        if (account != msg.sender && !isBroker[account][msg.sender]) revert NotBroker(account, msg.sender);
    }

    /// @dev Draws `amounts[r]` from `payers[r]` for the first `runs` runs (the interactions,
    ///      after a batch's effects).
    function _pull(address[] memory payers, uint256[] memory amounts, uint256 runs) private {
        for (uint256 r = 0; r < runs; ++r) {
            if (amounts[r] > 0) token.safeTransferFrom(payers[r], address(this), amounts[r]);
        }
    }

    function _agreement(uint256 id) private view returns (Agreement storage a) {
        a = _agreements[id];
        if (a.state == State.None) revert UnknownAgreement(id);
    }

    function _expectState(uint256 id, Agreement storage a, State expected) private view {
        if (a.state != expected) revert WrongState(id, a.state);
    }

    function _end(Terms storage t) private view returns (uint256) {
        return uint256(t.start) + uint256(t.periods) * t.periodSeconds;
    }

    function _supplierRole(Service service) private pure returns (uint8) {
        if (service == Service.Compute) return COMPUTE_SUPPLIER;
        if (service == Service.Network) return NETWORK_SUPPLIER;
        return ENERGY_SUPPLIER;
    }
}
